"""One reviewer's working session: who they are, where their key is, which queue they use.

Everything that may block (the keyring over D-Bus, the network, a slow USB stick) is a
method meant to run on a worker; views call these through `app.workers.TaskRunner` only.
The queue client is created lazily on the first worker call and reused, and the runner is
single-threaded, so the client is never used from two threads at once.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from app.cache import CachedQueue, QueueCache, cache_path
from app.settings import AppPaths, Settings
from core.errors import InvalidData, TransportError
from core.formats import now_utc
from core.policy import Policy, SignedDecision
from core.queue.base import DecisionAck, ProposalView, Queue
from core.signing import KeySource, Signer, key_source


@dataclass(frozen=True)
class Pull:
    """The result of one sync: live from the queue, or the offline copy when it failed."""

    views: list[ProposalView]
    policy: bytes | None
    synced_at: datetime | None
    offline: bool = False
    error: str = ""
    left_out: int = 0  # proposals the offline copy did not keep
    left_waiting: int = 0  # of those, waiting for you (only past the cache's size limit)


def plain_pull_error(error: object, settings: Settings) -> str:
    """What went wrong with a sync, in words a reviewer can act on."""
    if isinstance(error, TransportError):
        if settings.transport == "server":
            where = f"The Foureyes server at {settings.server_url} is not answering"
            hint = "it may be down, or this computer may be offline"
        else:
            where = f"The shared folder {settings.folder} cannot be read"
            hint = "is the share mounted, or the USB stick plugged in?"
        return (f"{where} ({hint}). Deciding needs the queue; try Sync again later. "
                f"(Details: {error.message})")
    if isinstance(error, InvalidData):
        from app.display import plain_refusal

        return "The queue refused the request: " + plain_refusal(error.code, error.message)
    return f"Unexpected problem while syncing: {error!r}"


def parse_policy(data: bytes | None) -> Policy | None:
    if not data:
        return None
    try:
        return Policy.from_bytes(data)
    except InvalidData:
        return None


class Session:
    def __init__(self, settings: Settings, paths: AppPaths) -> None:
        self.settings = settings
        self.paths = paths
        self._queue: Queue | None = None
        self.cache = QueueCache(cache_path(paths.cache_dir, settings.source, settings.identity))

    @property
    def identity(self) -> str:
        return self.settings.identity

    def key_source(self) -> KeySource:
        return key_source(self.settings.key_path)

    def signer(self) -> Signer:
        """Worker only: may ask the OS keyring."""
        return self.key_source().signer(self.identity)

    def queue(self) -> Queue:
        """Worker only: builds the client on first use (a server login signs a challenge)."""
        if self._queue is None:
            self._queue = self._open_queue()
        return self._queue

    def _open_queue(self) -> Queue:
        s = self.settings
        if s.transport == "server":
            from core.queue.http import HttpQueue

            if s.token:
                return HttpQueue(s.server_url, token=s.token, identity=s.identity)
            return HttpQueue(s.server_url, identity=s.identity, signer=self.signer())
        if s.transport == "folder":
            from core.queue.folder import FolderQueue

            root = Path(s.folder)
            if not root.is_dir():
                raise TransportError("unreachable", f"the shared folder {root} is not there "
                                     "(is the USB stick plugged in?)")
            return FolderQueue(root, role="reviewer", identity=s.identity,
                               state_dir=self.paths.state_dir)
        raise InvalidData("settings", "no queue is configured yet")

    # -- worker-side operations

    def load_cache(self) -> CachedQueue:
        return self.cache.load()

    def pull(self) -> Pull:
        """List the queue and keep a copy; on transport trouble fall back to the copy."""
        try:
            queue = self.queue()
            policy = queue.policy_bytes()
            views = queue.list_proposals()
        except (TransportError, InvalidData) as e:
            self._drop_queue()
            cached = self.cache.load()
            return Pull(cached.views, cached.policy, cached.synced_at, offline=True,
                        error=plain_pull_error(e, self.settings), left_out=cached.left_out,
                        left_waiting=cached.left_waiting)
        at = now_utc()
        # a full disk must not hide the live queue; the next sync tries again
        with contextlib.suppress(TransportError):
            self.cache.store(views, policy, at, self.identity)
        return Pull(views, policy, at)

    def bundle_path(self, proposal_hash: str) -> Path | None:
        """The proof bundle of a final proposal, when the folder queue holds one."""
        if self.settings.transport != "folder":
            return None
        path = Path(self.settings.folder) / "bundles" / \
            f"{proposal_hash.removeprefix('sha256:')}.foureyes"
        return path if path.is_file() else None

    def refresh_one(self, proposal_hash: str) -> ProposalView:
        view = self.queue().get_proposal(proposal_hash)
        with contextlib.suppress(TransportError):
            self.cache.update_one(view)
        return view

    def submit(self, proposal_hash: str, decision: SignedDecision) -> DecisionAck:
        return self.queue().submit_decision(proposal_hash, decision)

    def _drop_queue(self) -> None:
        """After a transport error, reconnect next time (the server may have restarted)."""
        if self._queue is not None:
            try:
                self._queue.close()
            finally:
                self._queue = None

    def close(self) -> None:
        self._drop_queue()
