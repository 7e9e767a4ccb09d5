"""`FolderQueue`: the Queue interface over a shared folder (network share or USB stick).

Layout (SPEC §10, plus read-only extensions the gate publishes):
    policy.toml
    proposals/<hex>.json
    decisions/<hex>/<random 128-bit hex>.sealed   sealed boxes to the gate's seal key
    receipts/<hex>.json, receipts/<hex>.json.sig
    claims/<hex>.claim       extension: a gate's exclusive claim before it executes
    status/<hex>.json        extension: final status + counted decisions (a hint only)
    bundles/<hex>.foureyes   extension: the proof bundle of a final proposal (gate writes)
The gate keeps its Merkle log and its bookkeeping in a PRIVATE state directory, never on the
share: a log on the share would tell a reviewer who has already decided.

The share is writable by people the gate does not trust (SPEC §10), so:
- every share access goes through `core.queue.safefs` (no links followed, regular files
  only, bounded reads, exclusive no-follow creates);
- the gate pins the policy it serves in its state (first use) and never adopts another;
- the gate works only on proposals it submitted, kept (bytes and all) in its state;
- a refusal names a reviewer only when that reviewer's roster key verified the signature,
  and refusals per proposal are de-duplicated and bounded, so a bundle always fits SPEC §8;
- every bad file is reported once (remembered in the gate's state) and skipped;
- reviewers take a final status only from a bundle that verifies against their policy.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import nacl.exceptions
import nacl.public
import sqlite_utils

from core.bundle.archive import MAX_BUNDLE_BYTES
from core.errors import InvalidData, Refused, TransportError
from core.formats import Decision, Proposal, canonical, now_utc, parse_json
from core.formats.canonical import MAX_DOCUMENT_BYTES
from core.judge import Judge
from core.log.note import LogSigner
from core.log.store import LogStore
from core.policy import Policy, SignedDecision
from core.queue.atomic import write_atomic
from core.queue.base import FINAL_STATUSES, DecisionAck, ProposalView, Queue
from core.queue.logcheck import ProposalLog
from core.queue.safefs import Entry, ShareRoot, Taken, Unsafe, is_temporary
from core.textsafety import shown

_LOG = logging.getLogger("foureyes.folder")
HEX_RE = re.compile(r"[0-9a-f]{64}")
SEALED_RE = re.compile(r"[0-9a-f]{32}\.sealed")
MAX_SEALED_BYTES = 64 * 1024
MAX_RECEIPT_SIG_BYTES = 16 * 1024
MAX_REFUSALS_PER_PROPOSAL = 16  # logged refusals per proposal; keeps every bundle in SPEC §8
DECISIONS_PER_TRANSACTION = 256  # sealed files judged per commit (each in its own savepoint)
MAX_PROBLEMS_SHOWN = 50  # problems kept per queue object; the rest are only counted
POLL_SECONDS = 0.2
ROLES = ("reviewer", "gate")
STATE_DIR_MODE = 0o700
STATE_DB_MODE = 0o600
STATE_DB = "folder-gate.sqlite"


@dataclass(frozen=True)
class Problem:
    name: str
    message: str
    code: str = "unreadable"


def _hex(proposal_hash: str) -> str:
    h = proposal_hash.removeprefix("sha256:")
    if not HEX_RE.fullmatch(h):
        raise InvalidData("not_found", f"{proposal_hash!r} is not a proposal hash")
    return h


def _private_db(path: Path) -> sqlite3.Connection:
    """The gate's state database, created 0600 (it holds verdicts) and never through a link."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, STATE_DB_MODE)
        try:
            os.fchmod(fd, STATE_DB_MODE)
        finally:
            os.close(fd)
        conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        for side in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
            if side.is_file() and not side.is_symlink():  # made by an older, laxer version
                side.chmod(STATE_DB_MODE)
        return conn
    except (OSError, sqlite3.Error) as e:
        raise TransportError("storage", f"cannot open the gate's state {path}: {e}") from e


class FolderQueue(Queue):
    def __init__(self, root: Path, *, role: str, identity: str | None = None,
                 state_dir: Path | None = None, seal_secret: bytes | None = None,
                 log_signer: LogSigner | None = None,
                 clock: Callable[[], datetime] = now_utc) -> None:
        if role not in ROLES:
            raise InvalidData("role", f"a folder queue is used as reviewer or gate, not {role}")
        self.root = Path(root)
        self.share = ShareRoot(self.root)
        self.role = role
        self.identity = identity
        self.clock = clock
        self.problems: list[Problem] = []
        self.problems_suppressed = 0
        self._reported: set[str] = set()
        self.state_dir = Path(state_dir) if state_dir else None
        share_policy = self._share_policy()
        if role != "gate":
            if share_policy is None:
                raise TransportError("unreachable", f"{self.root} is not a Foureyes folder "
                                     "(no readable policy.toml); is the share or stick mounted?")
            self._policy = Policy.from_bytes(share_policy)
            return
        if seal_secret is None or log_signer is None or self.state_dir is None:
            raise InvalidData("gate", "the gate side needs its seal key, log key and a "
                              "private state directory")
        self._box = nacl.public.SealedBox(nacl.public.PrivateKey(seal_secret))
        self.log_signer = log_signer
        self.state_dir.mkdir(mode=STATE_DIR_MODE, parents=True, exist_ok=True)
        os.chmod(self.state_dir, STATE_DIR_MODE)
        conn = _private_db(self.state_dir / STATE_DB)
        self.db = sqlite_utils.Database(conn)
        conn.executescript(
            "CREATE TABLE IF NOT EXISTS seen (name TEXT PRIMARY KEY);"
            "CREATE TABLE IF NOT EXISTS counted (hash TEXT PRIMARY KEY, proposal TEXT, "
            "seq INTEGER, body BLOB, signature TEXT);"
            "CREATE TABLE IF NOT EXISTS state (proposal TEXT PRIMARY KEY, status TEXT);"
            "CREATE TABLE IF NOT EXISTS proposals (proposal TEXT PRIMARY KEY, raw BLOB);"
            "CREATE TABLE IF NOT EXISTS pinned (name TEXT PRIMARY KEY, data BLOB);"
            "CREATE TABLE IF NOT EXISTS bad (key TEXT PRIMARY KEY, name TEXT, code TEXT, "
            "message TEXT);"
            "CREATE TABLE IF NOT EXISTS refusals (proposal TEXT, reviewer TEXT, code TEXT, "
            "PRIMARY KEY (proposal, reviewer, code));"
            "CREATE TABLE IF NOT EXISTS receipts (proposal TEXT PRIMARY KEY, body BLOB, "
            "signature TEXT);"
            "CREATE TABLE IF NOT EXISTS published (proposal TEXT PRIMARY KEY, status TEXT);"
            "CREATE TABLE IF NOT EXISTS claims (proposal TEXT PRIMARY KEY);")
        self.log = LogStore(self.db)
        with self._tx():
            row = conn.execute("SELECT data FROM pinned WHERE name='policy'").fetchone()
            if row is None:
                if share_policy is None:
                    raise TransportError("unreachable", f"{self.root} is not a Foureyes folder "
                                         "(no readable policy.toml); is it mounted?")
                Policy.from_bytes(share_policy)  # an invalid policy is never pinned
                conn.execute("INSERT INTO pinned (name, data) VALUES ('policy', ?)",
                             (share_policy,))
                pinned = share_policy
            else:
                pinned = bytes(row[0])
            self._policy = Policy.from_bytes(pinned)
            self.judge = Judge(self._policy, self._pinned, clock="folder")
            if self.log.size == 0:
                self._event("policy.activated", policy=self._policy.hash)
        self._check_policy(share_policy)

    def _pinned(self, policy_hash: str) -> Policy:
        """The folder gate knows one policy: the one it pinned."""
        if policy_hash != self._policy.hash:
            raise Refused("policy_hash", "the proposal pins another policy than the one this "
                          "gate pinned")
        return self._policy

    # ------------------------------------------------------------------ state and reports

    @contextmanager
    def _tx(self) -> Iterator[None]:
        """One explicit transaction (BEGIN IMMEDIATE ... COMMIT), rolled back on any error."""
        conn = self.db.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:
            raise TransportError("storage", f"the gate's state is locked or damaged: {e}") from e
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as e:
            conn.execute("ROLLBACK")
            raise TransportError("storage", f"cannot commit the gate's state: {e}") from e

    def _report(self, name: str, message: str, code: str = "unreadable",
                key: str | None = None, remember: bool = True) -> None:
        """Tell the operator once: a gate remembers what it reported, across restarts."""
        key = key or f"{code}:{name}:{message}"
        if key in self._reported:
            return
        self._reported.add(key)
        if self.role == "gate" and remember:
            cur = self.db.conn.execute("INSERT OR IGNORE INTO bad (key, name, code, message) "
                                       "VALUES (?,?,?,?)", (key, name, code, message))
            if cur.rowcount == 0:
                return
        # on stderr of whoever runs this (Python's last-resort handler, or the app's log):
        # a file name on the share is chosen by any share writer, escape sequences included
        _LOG.warning("%s: [%s] %s: %s", shown(self.root), shown(code), shown(name),
                     shown(message))
        if len(self.problems) >= MAX_PROBLEMS_SHOWN:
            self.problems_suppressed += 1
            return
        self.problems.append(Problem(name, message, code))

    def _known_bad(self, key: str) -> bool:
        if key in self._reported:
            return True
        if self.role == "gate" and self.db.conn.execute(
                "SELECT 1 FROM bad WHERE key=?", (key,)).fetchone():
            self._reported.add(key)
            return True
        return False

    def _bad_entry(self, where: str, entry: Entry, message: str,
                   code: str = "unreadable") -> None:
        self._report(entry.name, message, code, key=f"{where}/{entry.name}@{entry.fingerprint}")

    def take_problems(self) -> tuple[list[Problem], int]:
        """The problems so far (and how many more were only counted); clears them."""
        out, more = self.problems, self.problems_suppressed
        self.problems, self.problems_suppressed = [], 0
        return out, more

    # ------------------------------------------------------------------ files

    def _share_policy(self) -> bytes | None:
        try:
            return self.share.read(("policy.toml",), MAX_DOCUMENT_BYTES)
        except Unsafe as e:
            if self.role != "gate":
                raise
            self.problems.append(Problem("policy.toml", e.message, "unreadable"))
            return None

    def _check_policy(self, share_policy: bytes | None) -> bool:
        """True when the share holds the pinned policy; otherwise report policy_changed."""
        if share_policy == self._policy.raw:
            return True
        self._report("policy.toml", "the folder's policy.toml is not the policy this gate "
                     f"pinned ({self._policy.hash}); it is refused, never adopted, and only "
                     "the pinned policy's reviewers count", "policy_changed",
                     remember=False)
        return False

    def policy_bytes(self) -> bytes:
        if self.role == "gate":
            return self._policy.raw
        data = self.share.read(("policy.toml",), MAX_DOCUMENT_BYTES)
        if data is None:
            raise TransportError("unreachable", f"{self.root} holds no policy.toml any more")
        return data

    def _entries(self, parts: tuple[str, ...]) -> list[Entry]:
        """A share folder's entries; a link, file or unreadable folder is reported, skipped."""
        try:
            return self.share.entries(parts) or []
        except Unsafe as e:
            self._report("/".join(parts), e.message)
            return []

    def _read(self, parts: tuple[str, ...], limit: int) -> bytes | None:
        try:
            return self.share.read(parts, limit)
        except Unsafe as e:
            self._report(parts[-1], e.message, key=f"read:{'/'.join(parts)}:{e.message}")
            return None

    def _share_proposals(self) -> list[Proposal]:
        """Proposals on the share (reviewers). Bad files are reported and skipped."""
        out = []
        for entry in sorted(self._entries(("proposals",)), key=lambda e: e.name):
            name = entry.name
            if is_temporary(name):
                continue
            if entry.kind != "file":
                self._bad_entry("proposals", entry, f"is not a regular file ({entry.kind}); "
                                "ignored")
                continue
            if not name.endswith(".json") or not HEX_RE.fullmatch(name[:-5]):
                self._bad_entry("proposals", entry, "not a proposal file name; ignored")
                continue
            data = self._read(("proposals", name), MAX_DOCUMENT_BYTES)
            if data is None:
                continue
            try:
                p = Proposal.from_bytes(data)
            except InvalidData as e:
                self._bad_entry("proposals", entry, f"not a valid proposal: {e.message}")
                continue
            if p.hash != "sha256:" + name[:-5]:
                self._bad_entry("proposals", entry, "its content does not match its name")
                continue
            out.append(p)
        return out

    # ------------------------------------------------------------------ reviewer side

    def _mine_path(self, h: str) -> Path | None:
        if self.state_dir is None or self.identity is None:
            return None
        return self.state_dir / "my-decisions" / self.identity / f"{h}.json"

    def _mine(self, h: str) -> SignedDecision | None:
        path = self._mine_path(h)
        try:
            data = path.read_bytes() if path and path.is_file() else None
        except OSError:
            data = None
        if not data:
            return None
        obj = parse_json(data, what="own decision")
        return SignedDecision(obj["decision"].encode(), obj["signature"])

    def _proven(self, p: Proposal) -> tuple[str, tuple[SignedDecision, ...],
                                            tuple[bytes, str] | None] | None:
        """A final status only from a bundle that verifies against the reviewer's policy.

        The status/ files are unsigned, so anyone who can write the share could forge one;
        they are never believed. An absent or unverifiable bundle proves nothing (None).
        """
        from core.bundle.archive import read_members
        from core.bundle.trust import Trust
        from core.bundle.verify import verify_bundle

        h = p.hash.removeprefix("sha256:")
        data = self._read(("bundles", f"{h}.foureyes"), MAX_BUNDLE_BYTES)
        if data is None:
            return None
        trust = Trust(frozenset({self._policy.hash}), frozenset(self._policy.logs))
        try:
            report = verify_bundle(data, trust, self.clock())
        except InvalidData as e:
            report = None
            why = e.message
        else:
            why = "; ".join(c.message for c in report.failures[:2])
        if report is None or report.exit_code != 0 or report.proposal is None \
                or report.proposal.hash != p.hash or report.outcome is None:
            why = why or "it is about another proposal"
            self._report(f"{h}.foureyes", f"the bundle does not verify ({why}); the "
                         "proposal is shown as not final", "unreadable",
                         key=f"bundle:{h}:{hashlib.sha256(data).hexdigest()}")
            return None
        status = "executed" if report.executed else report.outcome.status
        if status not in FINAL_STATUSES:
            return None
        members = read_members(data)
        n = sum(1 for k in members if k.startswith("decisions/") and k.endswith(".json"))
        decisions = tuple(SignedDecision(members[f"decisions/{i}.json"],
                                         members[f"decisions/{i}.json.sig"].decode())
                          for i in range(1, n + 1))
        receipt = None
        if "receipt.json" in members:
            receipt = (members["receipt.json"], members["receipt.json.sig"].decode())
        return status, decisions, receipt

    def _view(self, p: Proposal) -> ProposalView:
        h = p.hash.removeprefix("sha256:")
        if self.role == "gate":
            return ProposalView(p, self._status(p), None, tuple(self._counted(p.hash)),
                                self._own_receipt(p.hash))
        mine = self._mine(h)
        final = self._proven(p)
        if final is not None:
            return ProposalView(p, final[0], mine, final[1], final[2])
        status = "expired" if self.clock() > p.expires_at else "pending"
        return ProposalView(p, status, mine, (), None)

    def list_proposals(self) -> list[ProposalView]:
        if self.role == "gate":
            self.collect()
            proposals = self._own_proposals()
        else:
            proposals = self._share_proposals()
        views = [self._view(p) for p in proposals]
        return sorted(views, key=lambda v: v.proposal.created_at, reverse=True)

    def get_proposal(self, proposal_hash: str) -> ProposalView:
        h = _hex(proposal_hash)
        if self.role == "gate":
            p = self._own(proposal_hash)
            self.collect(p.hash)
            view = self._view(p)
            if view.status == "approved" and self._claimed_elsewhere(p):
                raise InvalidData("already_executed", "the folder shows a claim or receipt "
                                  "for this proposal that this gate did not make (another gate, "
                                  "or this gate on copied state); it will not run again")
            return view
        data = self._read(("proposals", f"{h}.json"), MAX_DOCUMENT_BYTES)
        if data is None:
            raise InvalidData("not_found", f"no proposal {proposal_hash} in {self.root}")
        p = Proposal.from_bytes(data)
        if p.hash.removeprefix("sha256:") != h:
            raise InvalidData("format", "the proposal file does not match its name")
        return self._view(p)

    def submit_decision(self, proposal_hash: str, decision: SignedDecision) -> DecisionAck:
        h = _hex(proposal_hash)
        gates = [g for g in self._policy.gates if g.seal_key is not None]
        if not gates:
            raise InvalidData("no_gate", "the folder's policy names no gate with a seal_key "
                              "to seal decisions to")
        doc = Decision.from_bytes(decision.document)
        box = nacl.public.SealedBox(nacl.public.PublicKey(gates[0].seal_key))
        sealed = box.encrypt(canonical({"decision": decision.document.decode(),
                                        "signature": decision.signature}))
        self.share.write(("decisions", h, f"{secrets.token_hex(16)}.sealed"), sealed,
                         exclusive=True)
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

        self.log.append(Event.make(kind, self.clock(), **fields))
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

    def _own_receipt(self, proposal_hash: str) -> tuple[bytes, str] | None:
        row = self.db.conn.execute("SELECT body, signature FROM receipts WHERE proposal=?",
                                   (proposal_hash,)).fetchone()
        return (bytes(row[0]), row[1]) if row else None

    def _own_proposals(self) -> list[Proposal]:
        """The proposals this gate submitted, from its own state (the share copy may lie)."""
        rows = self.db.conn.execute(
            "SELECT s.proposal, p.raw FROM state s LEFT JOIN proposals p "
            "ON p.proposal = s.proposal ORDER BY s.rowid").fetchall()
        out = []
        for h, raw in rows:
            if raw is None:  # state from before the gate kept the bytes: adopt the share copy
                data = self._read(("proposals", f"{_hex(h)}.json"), MAX_DOCUMENT_BYTES)
                try:
                    p = Proposal.from_bytes(data) if data is not None else None
                except InvalidData:
                    p = None
                if p is None or p.hash != h:
                    self._report(f"{_hex(h)}.json", "this gate's proposal is missing or "
                                 "altered on the share; skipped")
                    continue
                with self._tx():
                    self.db.conn.execute("INSERT OR IGNORE INTO proposals (proposal, raw) "
                                         "VALUES (?, ?)", (h, p.raw))
                out.append(p)
            else:
                out.append(Proposal.from_bytes(bytes(raw)))
        return out

    def _own(self, proposal_hash: str) -> Proposal:
        h = "sha256:" + _hex(proposal_hash)
        row = self.db.conn.execute("SELECT raw FROM proposals WHERE proposal=?", (h,)).fetchone()
        if row is not None:
            return Proposal.from_bytes(bytes(row[0]))
        for p in self._own_proposals():  # state from before the gate kept the bytes
            if p.hash == h:
                return p
        raise InvalidData("not_found", f"this gate did not submit {proposal_hash}; a proposal "
                          "on the share that this gate did not submit never counts")

    def submit_proposal(self, proposal: Proposal) -> None:
        self._require_gate()
        h = proposal.hash.removeprefix("sha256:")
        if not self._check_policy(self._share_policy()):
            raise InvalidData("policy_changed", "the folder's policy.toml is not the policy "
                              f"this gate pinned ({self._policy.hash}); restore it first")
        if self.db.conn.execute("SELECT 1 FROM state WHERE proposal=?",
                                (proposal.hash,)).fetchone():
            return
        rule = self.judge.admit_proposal(proposal, self.clock())
        with self._tx():
            self.db.conn.execute("INSERT INTO proposals (proposal, raw) VALUES (?, ?)",
                                 (proposal.hash, proposal.raw))
            self._event("proposal.submitted", proposal=proposal.hash)
            # no approval needed: approved from the start (still queued, logged, claimed)
            self._set_status(proposal, "approved" if rule is None or rule.approvals == 0
                             else "pending")
        try:
            self.share.write(("proposals", f"{h}.json"), proposal.raw, exclusive=False)
        except InvalidData as e:
            self._report(f"{h}.json", f"cannot be published: {e.message}", e.code)

    def _scan_foreign(self) -> None:
        """Report (once each) proposals on the share that this gate did not submit."""
        ours = {r[0] for r in self.db.conn.execute("SELECT proposal FROM state")}
        for entry in self._entries(("proposals",)):
            name = entry.name
            if is_temporary(name):
                continue
            if entry.kind == "file" and name.endswith(".json") \
                    and "sha256:" + name[:-5] in ours:
                continue
            if entry.kind != "file":
                message = f"is not a regular file ({entry.kind}); ignored"
            elif not name.endswith(".json") or not HEX_RE.fullmatch(name[:-5]):
                message = "not a proposal file name; ignored"
            else:
                self._bad_entry("proposals", entry, "this gate did not submit this "
                                "proposal; ignored", "not_ours")
                continue
            self._bad_entry("proposals", entry, message)

    def collect(self, only: str | None = None) -> None:
        """Unseal new decisions, count or refuse each (logging either), expire, publish."""
        self._require_gate()
        self._check_policy(self._share_policy())
        self._scan_foreign()
        for p in [self._own(only)] if only is not None else self._own_proposals():
            self._collect_one(p)
            self._finish_one(p)

    def _collect_one(self, p: Proposal) -> None:
        h = p.hash.removeprefix("sha256:")
        entries = sorted(self._entries(("decisions", h)), key=lambda e: (e.mtime_ns, e.name))
        # Arrival order: the first one counts. One transaction per batch of files, and a
        # savepoint per file, so each file is judged all-or-nothing without a disk sync each.
        for start in range(0, len(entries), DECISIONS_PER_TRANSACTION):
            with self._tx():
                for entry in entries[start:start + DECISIONS_PER_TRANSACTION]:
                    self._collect_file(p, entry)

    def _collect_file(self, p: Proposal, entry: Entry) -> None:
        h = p.hash.removeprefix("sha256:")
        where, name = f"decisions/{h}", entry.name
        key = f"{h}/{name}"
        conn = self.db.conn
        if is_temporary(name) or conn.execute("SELECT 1 FROM seen WHERE name=?",
                                              (key,)).fetchone():
            return
        if self._known_bad(f"{where}/{name}@{entry.fingerprint}"):
            return
        if entry.kind != "file":
            self._bad_entry(where, entry, f"is not a regular file ({entry.kind}); ignored")
            return
        if not SEALED_RE.fullmatch(name):
            self._bad_entry(where, entry, "not a sealed decision name; ignored")
            return
        data = self._read(("decisions", h, name), MAX_SEALED_BYTES)
        if data is None:
            return
        conn.execute("SAVEPOINT one_decision")
        try:
            conn.execute("INSERT INTO seen (name) VALUES (?)", (key,))
            self._take(p, name, data)
        except InvalidData as e:
            conn.execute("ROLLBACK TO one_decision")
            self._report(name, f"could not be judged ({e.message}); ignored", e.code)
            conn.execute("INSERT OR IGNORE INTO seen (name) VALUES (?)", (key,))
        conn.execute("RELEASE one_decision")

    def _finish_one(self, p: Proposal) -> None:
        status = self._status(p)
        if self.judge.expires(p, self._judged_status(p), self.clock()):
            with self._tx():
                self._event("proposal.expired", proposal=p.hash)
                self._set_status(p, "expired")
            status = "expired"
        if status in FINAL_STATUSES:
            row = self.db.conn.execute("SELECT status FROM published WHERE proposal=?",
                                       (p.hash,)).fetchone()
            if row is None or row[0] != status:
                self._publish(p, status)

    def _refusal(self, p: Proposal, name: str, reviewer: str, code: str) -> None:
        """Log a refusal against a verified reviewer, once per (reviewer, code), bounded."""
        (n,) = self.db.conn.execute("SELECT COUNT(*) FROM refusals WHERE proposal=?",
                                    (p.hash,)).fetchone()
        if self.db.conn.execute("SELECT 1 FROM refusals WHERE proposal=? AND reviewer=? AND "
                                "code=?", (p.hash, reviewer, code)).fetchone():
            self._report(name, f"refused again ({code}, {reviewer}); already logged once",
                         code, key=f"refused:{p.hash}:{reviewer}:{code}")
            return
        if n >= MAX_REFUSALS_PER_PROPOSAL:
            self._report(name, f"refused ({code}, {reviewer}); the proposal already has "
                         f"{MAX_REFUSALS_PER_PROPOSAL} logged refusals, so it is not logged",
                         code, key=f"refusal_limit:{p.hash}")
            return
        self.db.conn.execute("INSERT INTO refusals (proposal, reviewer, code) VALUES (?,?,?)",
                             (p.hash, reviewer, code))
        self._event("decision.refused", proposal=p.hash, reviewer=reviewer, code=code)

    def _take(self, p: Proposal, name: str, sealed: bytes) -> None:
        try:
            inner = parse_json(self._box.decrypt(sealed), what="sealed decision")
            signed = SignedDecision(inner["decision"].encode(), inner["signature"])
        except (nacl.exceptions.CryptoError, InvalidData, KeyError, TypeError,
                AttributeError, UnicodeError) as e:
            self._report(name, f"cannot be unsealed or read: {e}", "unattributable",
                         key=f"unseal:{p.hash}:{name}")
            return
        counted = self._counted(p.hash)
        ruling = self.judge.decision(p, self._judged_status(p), counted, signed, self.clock())
        # Only the roster entry whose key verified the signature names a reviewer (SPEC §1);
        # the document's own `reviewer` field is whatever a forger typed.
        if not ruling.counted:
            if ruling.reviewer:
                self._refusal(p, name, ruling.reviewer, ruling.code)
            else:
                self._report(name, f"refused ({ruling.code}); not signed by any roster key, "
                             "so it is attributed to no one", "unattributable",
                             key=f"unattributable:{p.hash}:{ruling.code}")
            return
        self.db.conn.execute("INSERT INTO counted (hash, proposal, seq, body, signature) "
                             "VALUES (?,?,?,?,?)", (ruling.decision.hash, p.hash,
                                                    len(counted) + 1, signed.document,
                                                    signed.signature))
        self._event("decision.recorded", proposal=p.hash, decision=ruling.decision.hash,
                    reviewer=ruling.reviewer)
        self._set_status(p, ruling.status)

    def _judged_status(self, p: Proposal) -> str:
        """The status the judge sees: an approved proposal this gate claimed is `claimed`."""
        status = self._status(p)
        if status == "approved" and self.db.conn.execute(
                "SELECT 1 FROM claims WHERE proposal=?", (p.hash,)).fetchone():
            return "claimed"
        return status

    def _publish(self, p: Proposal, status: str) -> None:
        """Write the status hint and the bundle of a final proposal onto the share."""
        from core.bundle.archive import read_members
        from core.bundle.build import bundle_from_log

        h = p.hash.removeprefix("sha256:")
        decisions = self._counted(p.hash)
        try:
            bundle = bundle_from_log(self.log, proposal=p.raw, policy=self._policy.raw,
                                     decisions=decisions, receipt=self._own_receipt(p.hash))
            read_members(bundle)  # SPEC §8 limits: never publish a bundle that cannot verify
            self.share.write(("status", f"{h}.json"), canonical({
                "status": status, "decisions": [{"decision": d.document.decode(),
                                                 "signature": d.signature}
                                                for d in decisions]}), exclusive=False)
            self.share.write(("bundles", f"{h}.foureyes"), bundle, exclusive=False)
        except InvalidData as e:
            self._report(f"{h}.foureyes", f"the bundle cannot be published: {e.message}",
                         e.code, key=f"publish:{h}:{status}:{e.message}")
            return
        with self._tx():
            self.db.conn.execute("INSERT OR REPLACE INTO published (proposal, status) "
                                 "VALUES (?, ?)", (p.hash, status))

    def wait(self, proposal_hash: str, timeout: float) -> ProposalView:
        deadline = time.monotonic() + timeout
        while True:
            view = self.get_proposal(proposal_hash)
            if view.status not in ("pending",) or time.monotonic() >= deadline:
                return view
            time.sleep(POLL_SECONDS)

    def _claimed_elsewhere(self, p: Proposal) -> bool:
        """The share shows a claim or receipt this gate's state does not know it made."""
        h = p.hash.removeprefix("sha256:")
        if self._own_receipt(p.hash) is not None or self.db.conn.execute(
                "SELECT 1 FROM claims WHERE proposal=?", (p.hash,)).fetchone():
            return False
        return any(self.share.present(parts) for parts in (
            ("claims", f"{h}.claim"), ("receipts", f"{h}.json"), ("receipts", f"{h}.json.sig")))

    def claim(self, proposal_hash: str) -> None:
        """An exclusive no-follow create on the share: a second gate (cloned state) stops.

        Refused when this gate did not submit the proposal, or when the share already shows
        a claim or a receipt (anything under those names, links included).
        """
        self._require_gate()
        h = _hex(proposal_hash)
        p = self._own(proposal_hash)
        if self._own_receipt(p.hash) is not None or self._status(p) == "executed" \
                or self.share.present(("receipts", f"{h}.json")) \
                or self.share.present(("receipts", f"{h}.json.sig")):
            raise InvalidData("already_executed", "the folder already holds a receipt for "
                              "this proposal; it runs once")
        try:
            with self._tx():  # our record of the claim exists exactly when the share's does
                self.db.conn.execute("INSERT OR IGNORE INTO claims (proposal) VALUES (?)",
                                     (p.hash,))
                self.share.write(("claims", f"{h}.claim"), canonical(
                    {"gate": self.identity or self._policy.gates[0].identity,
                     "proposal": p.hash}), exclusive=True)
        except Taken as e:
            raise InvalidData("already_executed", "another gate (or this gate on copied "
                              "state) already claimed this proposal; it runs once") from e
        except Unsafe as e:
            raise InvalidData("share_blocked", f"the claim cannot be written safely "
                              f"({e.message}); nothing was run") from e

    def proposal_log(self, proposal_hash: str) -> ProposalLog:
        from core.bundle.build import proposal_entries

        self._require_gate()
        note, entries, proofs = proposal_entries(self.log, "sha256:" + _hex(proposal_hash))
        return ProposalLog(note, entries, proofs)

    def record_receipt(self, proposal_hash: str, receipt: bytes, signature: str) -> None:
        self._require_gate()

        h = _hex(proposal_hash)
        p = self._own(proposal_hash)
        with self._tx():  # status, receipt and log entry: all or nothing
            if self._own_receipt(p.hash) is not None:
                raise InvalidData("already_executed", "this proposal already has a receipt")
            doc = self.judge.receipt(p, self._judged_status(p), self._counted(p.hash),
                                     receipt, signature, self.clock())
            self.db.conn.execute("INSERT INTO receipts (proposal, body, signature) "
                                 "VALUES (?,?,?)", (p.hash, receipt, signature))
            self._set_status(p, "executed")
            self._event("receipt.recorded", proposal=p.hash, receipt=doc.hash)
        # The execution is on record; the share copies follow. A planted file is reported
        # and replaced by the gate's own (rename replaces a name, never follows it).
        for name, data in ((f"{h}.json.sig", signature.encode()), (f"{h}.json", receipt)):
            try:
                self.share.write(("receipts", name), data, exclusive=True)
            except Taken:
                self._report(name, "a file the gate did not write held this receipt name; "
                             "replaced by the gate's own receipt", "share_blocked")
                try:
                    self.share.write(("receipts", name), data, exclusive=False)
                except InvalidData as e:
                    self._report(name, f"cannot be written: {e.message}", e.code)
            except InvalidData as e:
                self._report(name, f"cannot be written: {e.message}", e.code)
        self._publish(p, "executed")

    def export_bundle(self, proposal_hash: str) -> bytes:
        h = _hex(proposal_hash)
        if self.role == "gate":
            from core.bundle.build import bundle_from_log

            p = self._own(proposal_hash)
            self.collect(p.hash)
            if self._status(p) not in FINAL_STATUSES:
                raise InvalidData("not_final", "no bundle yet: the gate publishes one when "
                                  "the proposal is executed, rejected or expired")
            return bundle_from_log(self.log, proposal=p.raw, policy=self._policy.raw,
                                   decisions=self._counted(p.hash),
                                   receipt=self._own_receipt(p.hash))
        data = self._read(("bundles", f"{h}.foureyes"), MAX_BUNDLE_BYTES)
        if data is None:
            raise InvalidData("not_final", "no bundle yet: the gate publishes one when the "
                              "proposal is executed, rejected or expired")
        return data

    def close(self) -> None:
        if self.role == "gate":
            self.db.conn.close()
