"""`FolderQueue`: the Queue interface over a shared folder (network share or USB stick).

Layout (SPEC §10, plus two read-only extensions the gate publishes when a proposal is final):
    policy.toml
    proposals/<hex>.json
    decisions/<hex>/<random 128-bit hex>.sealed   sealed boxes to the gate's seal key
    receipts/<hex>.json, receipts/<hex>.json.sig
    status/<hex>.json        extension: final status + counted decisions (gate writes)
    bundles/<hex>.foureyes   extension: the proof bundle of a final proposal (gate writes)
The gate keeps its Merkle log and its bookkeeping in a PRIVATE state directory, never on the
share: a log on the share would tell a reviewer who has already decided.
"""

from __future__ import annotations

import re
import secrets
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import nacl.exceptions
import nacl.public
import sqlite_utils

from core.errors import InvalidData, TransportError
from core.formats import Decision, Proposal, canonical, now_utc, parse_json
from core.formats.canonical import MAX_DOCUMENT_BYTES
from core.log.note import LogSigner
from core.log.store import LogStore
from core.policy import APPROVED, REJECTED, Policy, SignedDecision, evaluate
from core.queue.atomic import is_temporary, write_atomic
from core.queue.base import FINAL_STATUSES, DecisionAck, ProposalView, Queue
from core.queue.logcheck import ProposalLog

HEX_RE = re.compile(r"[0-9a-f]{64}")
SEALED_RE = re.compile(r"[0-9a-f]{32}\.sealed")
MAX_SEALED_BYTES = 64 * 1024
POLL_SECONDS = 0.2
ROLES = ("reviewer", "gate")


@dataclass(frozen=True)
class Problem:
    name: str
    message: str


def _arrival(path: Path) -> tuple[int, str]:
    """Order decisions by when they landed (then name): the first one counts."""
    try:
        return path.stat().st_mtime_ns, path.name
    except OSError:
        return 0, path.name


def _hex(proposal_hash: str) -> str:
    h = proposal_hash.removeprefix("sha256:")
    if not HEX_RE.fullmatch(h):
        raise InvalidData("not_found", f"{proposal_hash!r} is not a proposal hash")
    return h


class FolderQueue(Queue):
    def __init__(self, root: Path, *, role: str, identity: str | None = None,
                 state_dir: Path | None = None, seal_secret: bytes | None = None,
                 log_signer: LogSigner | None = None,
                 clock: Callable[[], datetime] = now_utc) -> None:
        if role not in ROLES:
            raise InvalidData("role", f"a folder queue is used as reviewer or gate, not {role}")
        self.root = Path(root)
        if not (self.root / "policy.toml").is_file():
            raise TransportError("unreachable", f"{self.root} is not a Foureyes folder "
                                 "(no policy.toml); is the share or stick mounted?")
        self.role = role
        self.identity = identity
        self.clock = clock
        self.problems: list[Problem] = []
        self.state_dir = Path(state_dir) if state_dir else None
        self._policy = Policy.from_bytes(self.policy_bytes())
        if role == "gate":
            if seal_secret is None or log_signer is None or self.state_dir is None:
                raise InvalidData("gate", "the gate side needs its seal key, log key and a "
                                  "private state directory")
            self._box = nacl.public.SealedBox(nacl.public.PrivateKey(seal_secret))
            self.log_signer = log_signer
            self.state_dir.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.state_dir / "folder-gate.sqlite",
                                   check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            self.db = sqlite_utils.Database(conn)
            conn.executescript(
                "CREATE TABLE IF NOT EXISTS seen (name TEXT PRIMARY KEY);"
                "CREATE TABLE IF NOT EXISTS counted (hash TEXT PRIMARY KEY, proposal TEXT, "
                "seq INTEGER, body BLOB, signature TEXT);"
                "CREATE TABLE IF NOT EXISTS state (proposal TEXT PRIMARY KEY, status TEXT);")
            self.log = LogStore(self.db)
            with self.db.conn:
                if self.log.size == 0:
                    self._event("policy.activated", policy=self._policy.hash)

    # ------------------------------------------------------------------ files

    def policy_bytes(self) -> bytes:
        try:
            return (self.root / "policy.toml").read_bytes()
        except OSError as e:
            raise TransportError("unreachable", f"cannot read the folder's policy: {e}") from e

    def _read(self, path: Path, limit: int = MAX_DOCUMENT_BYTES) -> bytes | None:
        """File bytes, or None with a problem noted (never an exception for bad files)."""
        try:
            if path.stat().st_size > limit:
                self.problems.append(Problem(path.name, "larger than any valid file; ignored"))
                return None
            return path.read_bytes()
        except OSError as e:
            self.problems.append(Problem(path.name, f"cannot be read ({e.strerror}); ignored"))
            return None

    def _proposals(self) -> list[Proposal]:
        self.problems = []
        out = []
        folder = self.root / "proposals"
        for path in sorted(folder.glob("*")) if folder.is_dir() else []:
            if is_temporary(path.name):
                continue
            if not path.name.endswith(".json") or not HEX_RE.fullmatch(path.name[:-5]):
                self.problems.append(Problem(path.name, "not a proposal file name; ignored"))
                continue
            data = self._read(path)
            if data is None:
                continue
            try:
                p = Proposal.from_bytes(data)
            except InvalidData as e:
                self.problems.append(Problem(path.name, f"not a valid proposal: {e.message}"))
                continue
            if p.hash != "sha256:" + path.name[:-5]:
                self.problems.append(Problem(path.name, "its content does not match its name"))
                continue
            out.append(p)
        return out

    def _final(self, h: str) -> tuple[str, list[SignedDecision]] | None:
        data = self._read_quiet(self.root / "status" / f"{h}.json")
        if data is None:
            return None
        try:
            obj = parse_json(data, what="status file")
            decisions = [SignedDecision(d["decision"].encode(), d["signature"])
                         for d in obj["decisions"]]
            status = obj["status"]
            if status not in FINAL_STATUSES:
                raise InvalidData("format", "unknown status")
            return status, decisions
        except (InvalidData, KeyError, TypeError, AttributeError):
            self.problems.append(Problem(f"{h}.json", "status file is malformed; ignored"))
            return None

    @staticmethod
    def _read_quiet(path: Path) -> bytes | None:
        try:
            return path.read_bytes() if path.stat().st_size <= MAX_DOCUMENT_BYTES else None
        except OSError:
            return None

    def _receipt(self, h: str) -> tuple[bytes, str] | None:
        doc = self._read_quiet(self.root / "receipts" / f"{h}.json")
        sig = self._read_quiet(self.root / "receipts" / f"{h}.json.sig")
        return (doc, sig.decode("ascii", "replace")) if doc and sig else None

    # ------------------------------------------------------------------ reviewer side

    def _mine_path(self, h: str) -> Path | None:
        if self.state_dir is None or self.identity is None:
            return None
        return self.state_dir / "my-decisions" / self.identity / f"{h}.json"

    def _mine(self, h: str) -> SignedDecision | None:
        path = self._mine_path(h)
        data = self._read_quiet(path) if path else None
        if not data:
            return None
        obj = parse_json(data, what="own decision")
        return SignedDecision(obj["decision"].encode(), obj["signature"])

    def _view(self, p: Proposal) -> ProposalView:
        h = p.hash.removeprefix("sha256:")
        if self.role == "gate":
            status = self._status(p)
            return ProposalView(p, status, None, tuple(self._counted(p.hash)), self._receipt(h))
        mine = self._mine(h)
        final = self._final(h)
        if final is not None:
            return ProposalView(p, final[0], mine, tuple(final[1]), self._receipt(h))
        status = "expired" if self.clock() > p.expires_at else "pending"
        return ProposalView(p, status, mine, (), None)

    def list_proposals(self) -> list[ProposalView]:
        if self.role == "gate":
            self.collect()
        views = [self._view(p) for p in self._proposals()]
        return sorted(views, key=lambda v: v.proposal.created_at, reverse=True)

    def get_proposal(self, proposal_hash: str) -> ProposalView:
        h = _hex(proposal_hash)
        if self.role == "gate":
            self.collect(proposal_hash)
        data = self._read_quiet(self.root / "proposals" / f"{h}.json")
        if data is None:
            raise InvalidData("not_found", f"no proposal {proposal_hash} in {self.root}")
        p = Proposal.from_bytes(data)
        if p.hash.removeprefix("sha256:") != h:
            raise InvalidData("format", "the proposal file does not match its name")
        return self._view(p)

    def submit_decision(self, proposal_hash: str, decision: SignedDecision) -> DecisionAck:
        h = _hex(proposal_hash)
        gates = self._policy.gates
        if not gates:
            raise InvalidData("no_gate", "the folder's policy names no gate to seal to")
        doc = Decision.from_bytes(decision.document)
        box = nacl.public.SealedBox(nacl.public.PublicKey(gates[0].seal_key))
        sealed = box.encrypt(canonical({"decision": decision.document.decode(),
                                        "signature": decision.signature}))
        target = self.root / "decisions" / h / f"{secrets.token_hex(16)}.sealed"
        write_atomic(target, sealed, exclusive=True)
        mine = self._mine_path(h)
        if mine is not None:
            write_atomic(mine, canonical({"decision": decision.document.decode(),
                                          "signature": decision.signature}))
        return DecisionAck(doc.hash, None)

    # ------------------------------------------------------------------ gate side

    def _require_gate(self) -> None:
        if self.role != "gate":
            raise InvalidData("forbidden", "only the gate may do this on a folder queue")

    def _event(self, kind: str, **fields: str) -> None:
        from core.formats import Event

        self.log.append(Event.make(kind, self.clock(), **fields).raw)
        self.log.sign_checkpoint(self.log_signer)

    def _counted(self, proposal_hash: str) -> list[SignedDecision]:
        rows = self.db.conn.execute("SELECT body, signature FROM counted WHERE proposal=? "
                                    "ORDER BY seq", (proposal_hash,)).fetchall()
        return [SignedDecision(bytes(b), s) for b, s in rows]

    def _status(self, p: Proposal) -> str:
        row = self.db.conn.execute("SELECT status FROM state WHERE proposal=?",
                                   (p.hash,)).fetchone()
        return row[0] if row else "pending"

    def _set_status(self, p: Proposal, status: str) -> None:
        self.db.conn.execute("INSERT OR REPLACE INTO state (proposal, status) VALUES (?, ?)",
                             (p.hash, status))

    def submit_proposal(self, proposal: Proposal) -> None:
        self._require_gate()
        h = proposal.hash.removeprefix("sha256:")
        if proposal.policy != self._policy.hash:
            raise InvalidData("policy_hash", "the proposal pins another policy than the folder's")
        path = self.root / "proposals" / f"{h}.json"
        if path.exists():
            return
        with self.db.conn:
            self._event("proposal.submitted", proposal=proposal.hash)
            self._set_status(proposal, "pending")
        write_atomic(path, proposal.raw)

    def collect(self, only: str | None = None) -> None:
        """Unseal new decisions, count or refuse each (logging either), expire, publish."""
        self._require_gate()
        for p in self._proposals():
            if only is not None and p.hash != only:
                continue
            self._collect_one(p)

    def _collect_one(self, p: Proposal) -> None:
        h = p.hash.removeprefix("sha256:")
        folder = self.root / "decisions" / h
        names = [n.name for n in sorted(folder.iterdir(), key=_arrival)] \
            if folder.is_dir() else []
        for name in names:
            key = f"{h}/{name}"
            if is_temporary(name) or self.db.conn.execute(
                    "SELECT 1 FROM seen WHERE name=?", (key,)).fetchone():
                continue
            if not SEALED_RE.fullmatch(name):
                self.problems.append(Problem(name, "not a sealed decision name; ignored"))
                continue
            data = self._read(folder / name, MAX_SEALED_BYTES)
            if data is None:
                continue
            with self.db.conn:
                self.db.conn.execute("INSERT INTO seen (name) VALUES (?)", (key,))
                self._take(p, name, data)
        status = self._status(p)
        if status in ("pending", "approved") and self.clock() > p.expires_at:
            with self.db.conn:
                self._event("proposal.expired", proposal=p.hash)
                self._set_status(p, "expired")
            status = "expired"
        if status in ("rejected", "expired") and not (self.root / "status" / f"{h}.json").exists():
            self._publish(p, status)

    def _take(self, p: Proposal, name: str, sealed: bytes) -> None:
        try:
            inner = parse_json(self._box.decrypt(sealed), what="sealed decision")
            signed = SignedDecision(inner["decision"].encode(), inner["signature"])
        except (nacl.exceptions.CryptoError, InvalidData, KeyError, TypeError,
                AttributeError, UnicodeError) as e:
            self.problems.append(Problem(name, f"cannot be unsealed or read: {e}"))
            return
        status = self._status(p)
        counted = self._counted(p.hash)
        outcome = evaluate(self._policy, p, [*counted, signed], self.clock())
        check = outcome.checks[-1] if outcome.checks else None
        if check is None:
            self.problems.append(Problem(name, outcome.message))
            return
        reviewer = check.reviewer or (check.decision.reviewer if check.decision else None)
        if status in FINAL_STATUSES or not check.counted:
            code = check.code if not check.counted else "closed"
            if reviewer:
                self._event("decision.refused", proposal=p.hash, reviewer=reviewer, code=code)
            else:
                self.problems.append(Problem(name, f"refused ({code}) and unattributable"))
            return
        self.db.conn.execute("INSERT INTO counted (hash, proposal, seq, body, signature) "
                             "VALUES (?,?,?,?,?)", (check.decision.hash, p.hash,
                                                    len(counted) + 1, signed.document,
                                                    signed.signature))
        self._event("decision.recorded", proposal=p.hash, decision=check.decision.hash,
                    reviewer=reviewer)
        new = {APPROVED: "approved", REJECTED: "rejected"}.get(outcome.status, "pending")
        self._set_status(p, new)

    def _publish(self, p: Proposal, status: str) -> None:
        """Write the status file and the bundle of a final proposal onto the share."""
        from core.bundle.build import bundle_from_log

        h = p.hash.removeprefix("sha256:")
        decisions = self._counted(p.hash)
        write_atomic(self.root / "status" / f"{h}.json", canonical({
            "status": status, "decisions": [{"decision": d.document.decode(),
                                             "signature": d.signature} for d in decisions]}))
        write_atomic(self.root / "bundles" / f"{h}.foureyes", bundle_from_log(
            self.log, proposal=p.raw, policy=self._policy.raw, decisions=decisions,
            receipt=self._receipt(h)))

    def wait(self, proposal_hash: str, timeout: float) -> ProposalView:
        deadline = time.monotonic() + timeout
        while True:
            view = self.get_proposal(proposal_hash)
            if view.status not in ("pending",) or time.monotonic() >= deadline:
                return view
            time.sleep(POLL_SECONDS)

    def claim(self, proposal_hash: str) -> None:
        """An exclusive create on the share: a second gate (cloned state) finds it and stops."""
        self._require_gate()
        h = _hex(proposal_hash)
        if (self.root / "receipts" / f"{h}.json").exists():
            raise InvalidData("already_executed", "the folder already holds a receipt for "
                              "this proposal; it runs once")
        try:
            write_atomic(self.root / "claims" / f"{h}.claim",
                         canonical({"gate": self._policy.gates[0].identity,
                                    "proposal": "sha256:" + h}), exclusive=True)
        except FileExistsError as e:
            raise InvalidData("already_executed", "another gate (or this gate on copied "
                              "state) already claimed this proposal; it runs once") from e

    def proposal_log(self, proposal_hash: str) -> ProposalLog:
        from core.bundle.build import proposal_entries

        self._require_gate()
        note, entries, proofs = proposal_entries(self.log, "sha256:" + _hex(proposal_hash))
        return ProposalLog(note, entries, proofs)

    def record_receipt(self, proposal_hash: str, receipt: bytes, signature: str) -> None:
        self._require_gate()
        from core.formats import Receipt

        h = _hex(proposal_hash)
        p = self.get_proposal(proposal_hash).proposal
        doc = Receipt.from_bytes(receipt)
        if doc.proposal != p.hash:
            raise InvalidData("binding", "the receipt is for another proposal")
        with self.db.conn:
            if self._status(p) == "executed":
                raise InvalidData("already_executed", "this proposal already has a receipt")
            self._set_status(p, "executed")
            self._event("receipt.recorded", proposal=p.hash, receipt=doc.hash)
            write_atomic(self.root / "receipts" / f"{h}.json.sig", signature.encode(),
                         exclusive=True)
            write_atomic(self.root / "receipts" / f"{h}.json", receipt, exclusive=True)
        self._publish(p, "executed")

    def export_bundle(self, proposal_hash: str) -> bytes:
        h = _hex(proposal_hash)
        if self.role == "gate":
            self.collect(proposal_hash)
        data = self._read_quiet(self.root / "bundles" / f"{h}.foureyes")
        if data is None:
            raise InvalidData("not_final", "no bundle yet: the gate publishes one when the "
                              "proposal is executed, rejected or expired")
        return data

    def close(self) -> None:
        if self.role == "gate":
            self.db.conn.close()
