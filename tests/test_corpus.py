"""The hostile-input corpus (tests/corpus/): every input ends in its expected exit code and
check code, with no traceback, within a time and memory budget.

Inputs and expectations come from tests/corpus/make_corpus.py (committed outputs, listed in
tests/corpus/expected.toml). Re-running the script must reproduce them byte for byte.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from core.bundle.trust import parse_trust
from core.bundle.verify import UNEXPECTED, _event
from core.cli.main import cli
from core.errors import InvalidData
from core.formats import Decision, Proposal, Receipt
from core.policy import Policy

CORPUS = Path(__file__).resolve().parent / "corpus"
CASES = tomllib.loads((CORPUS / "expected.toml").read_text())["case"]
CPU_SECONDS = 5  # per input; the slowest legitimate-size input takes well under 2 s
MAX_RSS_GROWTH = 300 * 1024 * 1024
READERS = {"proposal": Proposal.from_bytes, "decision": Decision.from_bytes,
           "receipt": Receipt.from_bytes, "event": lambda b: _event(b, 0)}


def _rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def test_corpus_is_big_enough_and_small():
    assert len(CASES) >= 40
    assert sum(p.stat().st_size for p in CORPUS.rglob("*") if p.is_file()) < 2 * 1024 * 1024
    assert all((CORPUS / c["file"]).is_file() for c in CASES)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_corpus_input(case, vectors_dir, tmp_path):
    path = CORPUS / case["file"]
    runner = CliRunner()
    before, t = _rss(), time.process_time()
    if case["kind"] == "bundle":
        r = runner.invoke(cli, ["verify", str(path), "--json", "--trust",
                                str(vectors_dir / "trust.toml")])
        assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
        assert r.exit_code == case["exit"], r.output
        if case["exit"] == 1:
            failed = {c["code"] for c in json.loads(r.stdout)["checks"] if not c["ok"]}
            assert case["code"] in failed, failed
            assert UNEXPECTED not in r.stdout  # a check that knew why, not the last net
    elif case["kind"] == "policy":
        with pytest.raises(InvalidData) as e:
            Policy.from_bytes(path.read_bytes())
        assert e.value.code == case["code"]
        r = runner.invoke(cli, ["policy", "check", str(path)])
        assert r.exit_code == case["exit"] and f"[{case['code']}]" in r.output, r.output
    elif case["kind"] == "trust":
        with pytest.raises(InvalidData) as e:
            parse_trust(path.read_bytes())
        assert e.value.code == case["code"]
        r = runner.invoke(cli, ["verify", str(vectors_dir / "payment-2of4.foureyes"),
                                "--trust", str(path)])
        assert r.exit_code == case["exit"] and f"[{case['code']}]" in r.output, r.output
    else:
        with pytest.raises(InvalidData) as e:
            READERS[case["reader"]](path.read_bytes())
        assert e.value.code == case["code"]
    assert time.process_time() - t < CPU_SECONDS
    assert _rss() - before < MAX_RSS_GROWTH


@pytest.mark.timeout(120)
def test_make_corpus_reproduces_the_committed_files(tmp_path):
    """The generator is deterministic: a fresh copy run elsewhere writes the same bytes."""
    copy = tmp_path / "tests" / "corpus"
    copy.mkdir(parents=True)
    (copy / "make_corpus.py").write_bytes((CORPUS / "make_corpus.py").read_bytes())
    shared = tmp_path.parent / "shared"
    repo_shared = CORPUS.parents[2] / "shared"
    if not shared.exists():
        shared.symlink_to(repo_shared)
    out = subprocess.run([sys.executable, str(copy / "make_corpus.py")], capture_output=True,
                         text=True, check=False, timeout=100)
    assert out.returncode == 0, out.stderr
    for c in CASES:
        assert (copy / c["file"]).read_bytes() == (CORPUS / c["file"]).read_bytes(), c["file"]
    assert (copy / "expected.toml").read_bytes() == (CORPUS / "expected.toml").read_bytes()
