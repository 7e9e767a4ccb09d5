"""A temporary shared-folder queue with the sample world's policy and the gate's keys, and
the helpers a hostile share writer uses against it (planted sealed files, a CLI set-up)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import nacl.public
import nacl.signing
from click.testing import CliRunner

from core.formats import canonical, now_utc
from core.policy import SignedDecision
from core.queue.folder import FolderQueue
from core.sample import GATE, SampleWorld
from core.signing import Signer


@dataclass
class Folder:
    world: SampleWorld
    root: Path
    state: Path

    @classmethod
    def create(cls, world: SampleWorld, tmp: Path) -> Folder:
        from core.cli.folder import SUBDIRS

        root = tmp / "share"
        for sub in SUBDIRS:
            (root / sub).mkdir(parents=True, exist_ok=True)
        (root / "policy.toml").write_bytes(world.policy_bytes())
        return cls(world, root, tmp / "gate-state")

    def gate(self, state: Path | None = None,
             clock: Callable[[], datetime] = now_utc) -> FolderQueue:
        return FolderQueue(self.root, role="gate", identity=GATE, state_dir=state or self.state,
                           seal_secret=self.world.seal_secret, log_signer=self.world.log_signer,
                           clock=clock)

    def reviewer(self, identity: str) -> FolderQueue:
        return FolderQueue(self.root, role="reviewer", identity=identity,
                           state_dir=self.root.parent / f"state-{identity}")

    def plant_sealed(self, proposal_hash: str, signed: SignedDecision, name: str) -> Path:
        """What any share writer can do: seal a decision to the gate's public seal key."""
        box = nacl.public.SealedBox(nacl.public.PublicKey(self.world.seal_public))
        folder = self.root / "decisions" / proposal_hash.removeprefix("sha256:")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / name
        path.write_bytes(box.encrypt(canonical({"decision": signed.document.decode(),
                                                "signature": signed.signature})))
        return path


def random_signer() -> Signer:
    return Signer(nacl.signing.SigningKey.generate().encode())


@dataclass
class CliFolder:
    """A folder queue set up with the project's own CLI, as the README walks through it."""

    tmp: Path
    usb: Path
    gate_state: Path
    policy_text: str
    keys: dict[str, Path]

    def run(self, *args: str):  # noqa: ANN201 - click Result
        return CliRunner().invoke(_cli(), list(args))

    def ok(self, *args: str) -> str:
        r = self.run(*args)
        assert r.exit_code == 0, (args, r.output, r.exception)
        return r.output

    @property
    def gate(self) -> list[str]:
        return ["--folder", str(self.usb), "--gate-state", str(self.gate_state)]

    def reviewer(self, who: str) -> list[str]:
        return ["--folder", str(self.usb), "--identity", who, "--key-file", str(self.keys[who])]

    def new_key(self, who: str) -> str:
        self.keys[who] = self.tmp / f"{who}.key"
        out = self.ok("keys", "new", "--identity", who, "--key-file", str(self.keys[who]))
        return out.splitlines()[1]

    def propose(self) -> str:
        return self.ok("propose", *self.gate, "--route", "payments.transfer", "--params",
                       '{"amount_minor":120000,"currency":"USD","to":"acct-991"}', "--summary",
                       SUMMARY_JSON, "--requester", "alice@example.com").strip().splitlines()[-1]

    @classmethod
    def create(cls, tmp: Path) -> CliFolder:
        self = cls(tmp, tmp / "usb", tmp / "gate", "", {})
        snippet = self.ok("folder", "gate-init", str(self.gate_state), "--gate", "gate:prod",
                          "--log-name", "usb.example/foureyes")
        roster = [f'[[approvers]]\nidentity = "{who}@example.com"\n'
                  f'key = "{self.new_key(f"{who}@example.com")}"\n'
                  for who in ("alice", "bob", "carol")]
        self.policy_text = ('schema = "foureyes.policy/v1"\nname = "usb"\ndefault = "deny"\n'
                            'ttl = "30m"\n\n' + "\n".join(roster) + "\n"
                            + snippet.split("\n", 1)[1] + '\n[[rules]]\nroute = "payments.*"\n'
                            'approvals = 2\n')
        (tmp / "policy.toml").write_text(self.policy_text)
        self.ok("folder", "init", str(self.usb), "--policy", str(tmp / "policy.toml"))
        return self


SUMMARY_JSON = ('{"title":"Pay invoice 4411","why":"Due today","blast_radius":"one vendor",'
                '"reversibility":"irreversible"}')


def _cli():  # noqa: ANN202
    from core.cli.main import cli

    return cli
