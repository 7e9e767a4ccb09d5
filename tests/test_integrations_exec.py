"""`foureyes exec` as a CI step would run it, against the real queue server: the exact argv,
cwd and named variables are proposed, run once on approval with the signed values, and the
receipt records the exit status and output digests; pending, retry, changed arguments,
reject, expiry, an unreachable queue and a denied route run nothing."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

from tests.test_integrations_support import BOB, DAVE, DEAD_SERVER, env  # noqa: F401

REPO = Path(__file__).resolve().parents[1]
SCRIPT = 'echo "$GREETING $1" >> runs.txt; echo "said $GREETING"; exit "$2"'


def foureyes_exec(config: Path, cwd: Path, *args: str, wait: float = 60,
                  background: bool = False, env_extra: dict | None = None):
    cmd = [sys.executable, "-m", "core.cli.main", "exec", "--config", str(config),
           "--wait", str(wait), *args]
    environment = {**os.environ, "PYTHONPATH": str(REPO), "GREETING": "hello",
                   **(env_extra or {})}
    if background:
        return subprocess.Popen(cmd, cwd=cwd, env=environment, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
    return subprocess.run(cmd, cwd=cwd, env=environment, capture_output=True, timeout=120,
                          check=False)


def step(n: str, status: str = "0") -> list[str]:
    return ["--route", "exec.deploy", "--env", "GREETING", "--why", "release 1.2",
            "--blast-radius", "staging", "--", "sh", "-c", SCRIPT, "sh", n, status]


def proposal_of(stderr: bytes) -> str:
    return stderr.decode().split("proposal ")[1].split()[0]


def test_approve_runs_once_with_signed_values_and_exit_status(env, tmp_path):  # noqa: F811
    cfg = env.config("exec-approve")
    proc = foureyes_exec(cfg, tmp_path, *step("one", "3"), background=True,
                         env_extra={"GREETING": "bonjour"})
    proposal = env.pending("exec.deploy")
    assert proposal.params == {
        "argv": ["sh", "-c", SCRIPT, "sh", "one", "3"],
        "executable": os.path.realpath(subprocess.check_output(["sh", "-c", "command -v sh"],
                                                               text=True).strip()),
        "cwd": str(tmp_path), "env": {"GREETING": "bonjour"}, "clean_env": False}
    env.approve(proposal)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 3, err  # the command's own exit status
    assert out == b"said bonjour\n"
    assert (tmp_path / "runs.txt").read_text() == "bonjour one\n"
    receipt = env.receipt(proposal.hash)
    assert receipt["outcome"] == "failed"  # a non-zero exit is recorded as failed
    assert receipt["result"] == {"exit_status": 3,
                                 "stdout_sha256": hashlib.sha256(out).hexdigest(),
                                 "stderr_sha256": hashlib.sha256(b"").hexdigest()}


def test_pending_retry_changed_reject_expiry_unreachable_denied(env, tmp_path):  # noqa: F811
    cfg = env.config("exec-matrix")
    first = foureyes_exec(cfg, tmp_path, *step("two"), wait=0.3)
    assert first.returncode == 75, first.stderr
    p1 = proposal_of(first.stderr)
    again = foureyes_exec(cfg, tmp_path, *step("two"), wait=0.3)
    assert again.returncode == 75 and proposal_of(again.stderr) == p1
    assert b"attached" in again.stderr
    changed = foureyes_exec(cfg, tmp_path, *step("two"), wait=0.3,
                            env_extra={"GREETING": "evil"})  # a changed variable
    assert changed.returncode == 75 and proposal_of(changed.stderr) != p1
    env.decide(proposal_of(changed.stderr), DAVE, "reject")
    rejected = foureyes_exec(cfg, tmp_path, *step("two"), env_extra={"GREETING": "evil"})
    assert rejected.returncode == 77 and b"[rejected]" in rejected.stderr
    assert not (tmp_path / "runs.txt").exists()
    env.approve(p1)  # approved while nobody waits: the next identical run executes it
    done = foureyes_exec(cfg, tmp_path, *step("two"))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "runs.txt").read_text() == "hello two\n"
    later = foureyes_exec(cfg, tmp_path, *step("two"), wait=0.3)  # a new action
    assert later.returncode == 75 and proposal_of(later.stderr) != p1
    assert (tmp_path / "runs.txt").read_text() == "hello two\n"

    short = foureyes_exec(cfg, tmp_path, "--route", "exec.short", "--why", "w",
                          "--blast-radius", "b", "--", "touch", "expired.txt",
                          background=True)
    env.decide(env.pending("exec.short"), BOB)  # one approval of two, then it expires
    short.communicate(timeout=60)
    assert short.returncode == 77 and not (tmp_path / "expired.txt").exists()

    dead = foureyes_exec(env.config("exec-dead", server=DEAD_SERVER), tmp_path, *step("3"))
    assert dead.returncode == 69 and b"[unreachable]" in dead.stderr
    denied = foureyes_exec(cfg, tmp_path, "--route", "prod.drop", "--why", "w",
                           "--blast-radius", "b", "--", "touch", "denied.txt")
    assert denied.returncode == 77 and b"[denied]" in denied.stderr
    missing = foureyes_exec(cfg, tmp_path, "--route", "exec.deploy", "--", "touch", "x")
    assert missing.returncode == 78 and b"[summary]" in missing.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["runs.txt"]
