"""Item: deleting the log's tail, or the whole log, does not pass verification.

The server appends every checkpoint it signs to a file outside its data directory; `log
verify --checkpoint FILE` proves the log still extends every note in it. These tests delete
rows the way someone with write access to server.sqlite (and no key) would, cleaning up
stored checkpoints and subtree hashes too, so the store alone still looks sound.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3

import pytest

from core.log.note import LogVerifier, split_notes, verify_checkpoint
from tests.server_fixtures import Server, cli
from tests.test_server import _propose


def _truncate(db, keep: int) -> None:
    conn = sqlite3.connect(db)
    conn.execute("DELETE FROM log_entries WHERE idx >= ?", (keep,))
    conn.execute("DELETE FROM log_checkpoints WHERE size > ?", (keep,))
    with contextlib.suppress(sqlite3.OperationalError):  # no such table before log_nodes
        conn.execute("DELETE FROM log_nodes WHERE (idx + 1) << level > ?", (keep,))
    kept = {json.loads(e)["proposal"] for (e,) in conn.execute("SELECT entry FROM log_entries")
            if "proposal" in json.loads(e)}
    for (h,) in conn.execute("SELECT hash FROM proposals").fetchall():
        if h not in kept:  # and the rows of the deleted events, so the replay agrees
            conn.execute("DELETE FROM proposals WHERE hash=?", (h,))
    conn.commit()
    conn.close()


def _verify(srv: Server, *extra: str):
    return cli("log", "verify", "--db", str(srv.data / "server.sqlite"), "--key",
               srv.world.log_verifier, *extra)


@pytest.fixture
def served(tmp_path, world):
    srv = Server(world, tmp_path / "s")
    srv.setup()
    srv.start()
    for _ in range(4):
        _propose(srv, world)
    srv.stop()
    return srv


def test_the_default_file_sits_beside_the_data_and_holds_every_checkpoint(served):
    path = served.root / "data-checkpoints.txt"
    assert path.exists() and not path.is_relative_to(served.data)
    trusted = [LogVerifier.from_text(served.world.log_verifier)]
    sizes = [verify_checkpoint(n, trusted).size for n in split_notes(path.read_text())]
    assert sizes == list(range(1, 6))  # policy.activated + 4 submissions, one note each
    out = _verify(served, "--checkpoint", str(path))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "5 entries, 10 checkpoints checked" in out.stdout


def test_a_deleted_tail_fails_naming_the_first_checkpoint_it_breaks(served):
    path = served.root / "data-checkpoints.txt"
    _truncate(served.data / "server.sqlite", 3)
    assert _verify(served).returncode == 0  # the store alone cannot tell
    out = _verify(served, "--checkpoint", str(path))
    assert out.returncode == 1, out.stdout
    assert "checkpoint 4 of 5 in data-checkpoints.txt (size 4) is not consistent with the " \
        "log: the log has only 3 good entries (its entries were deleted)" in out.stdout
    assert "first checkpoint the log does not extend: 4 of 5 in data-checkpoints.txt" \
        in out.stdout
    with pytest.raises(RuntimeError) as e:  # and the server will not run on it
        served.start()
    assert "log_damaged" in str(e.value) or "not consistent" in str(e.value)


def test_a_deleted_log_fails(served):
    path = served.root / "data-checkpoints.txt"
    _truncate(served.data / "server.sqlite", 0)
    out = _verify(served, "--checkpoint", str(path))
    assert out.returncode == 1
    assert "checkpoint 1 of 5 in data-checkpoints.txt (size 1) is not consistent" in out.stdout


def test_a_rewritten_log_fails(served):
    """Same size, other content: the roots differ from the shipped notes."""
    path = served.root / "data-checkpoints.txt"
    conn = sqlite3.connect(served.data / "server.sqlite")
    conn.execute("UPDATE log_entries SET entry=CAST(? AS BLOB) WHERE idx=4", (b'{"x":1}',))
    conn.commit()
    conn.close()
    out = _verify(served, "--checkpoint", str(path))
    assert out.returncode == 1 and "first bad index: 4" in out.stdout
    assert "first checkpoint the log does not extend: 5 of 5 in data-checkpoints.txt" \
        in out.stdout


def test_the_option_names_the_file(tmp_path, world):
    path = tmp_path / "elsewhere" / "notes.txt"
    path.parent.mkdir()
    srv = Server(world, tmp_path / "s", extra_args=("--checkpoint-file", str(path)))
    srv.setup()
    srv.start()
    try:
        _propose(srv, world)
    finally:
        srv.stop()
    assert len(split_notes(path.read_text())) == 2
    assert not (srv.root / "data-checkpoints.txt").exists()
    assert _verify(srv, "--checkpoint", str(path)).returncode == 0
