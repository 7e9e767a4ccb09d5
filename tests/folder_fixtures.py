"""A temporary shared-folder queue with the sample world's policy and the gate's keys."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.queue.folder import FolderQueue
from core.sample import GATE, SampleWorld


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

    def gate(self) -> FolderQueue:
        return FolderQueue(self.root, role="gate", identity=GATE, state_dir=self.state,
                           seal_secret=self.world.seal_secret, log_signer=self.world.log_signer)

    def reviewer(self, identity: str) -> FolderQueue:
        return FolderQueue(self.root, role="reviewer", identity=identity,
                           state_dir=self.root.parent / f"state-{identity}")
