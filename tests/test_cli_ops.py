"""Operator commands against a real server from `foureyes init`: whoami and the default
proposer, wait's exit codes and progress, stats, TLS with --ca, the non-loopback warning,
and the policy checks (log keys, distinct groups, seal_key only for folders)."""

from __future__ import annotations

import json
import os
import pty
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.test_cli_errors import run
from tests.test_init import free_port
from tests.test_readme import base_env, start_background

PARAMS = '{"amount_minor":120000,"currency":"USD","to":"acct-991"}'
SUMMARY = ('{"title":"Grant","why":"On call","blast_radius":"one role",'
           '"reversibility":"reversible"}')


@pytest.fixture
def deployment(tmp_path):
    port = free_port()
    assert run("init", "d", "--port", str(port), cwd=tmp_path).returncode == 0
    policy = tmp_path / "d" / "policy.toml"
    policy.write_text(policy.read_text().replace('ttl = "30m"', 'ttl = "3s"', 1))
    server = start_background(f"exec foureyes serve --policy d/policy.toml --data d/data "
                              f"--log-key d/log.key --port {port}", "listening on",
                              tmp_path, base_env(tmp_path, on_path=True))
    yield tmp_path, f"http://127.0.0.1:{port}"
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(15)


def token(root: Path, role: str) -> dict[str, str]:
    return {"FOUREYES_TOKEN": (root / "d" / "tokens" / f"{role}.token").read_text().strip()}


def propose(root: Path, url: str, route: str, **extra: str) -> subprocess.CompletedProcess:
    args = [f"--{k}={v}" for k, v in extra.items()]
    return run("propose", "--server", url, "--route", route, "--params", PARAMS, "--summary",
               SUMMARY, "--requester", "dave@example.com", *args, cwd=root,
               env=token(root, "agent"))


def reviewer(root: Path, who: str) -> list[str]:
    return ["--identity", f"{who}@example.com", "--key-file", f"d/reviewers/{who}.key"]


def test_whoami_names_the_token_and_propose_uses_it(deployment):
    root, url = deployment
    for role, identity in (("agent", "agent:deploy-bot"), ("gate", "gate:prod"),
                           ("auditor", "audit@example.com")):
        r = httpx.get(url + "/v1/whoami", headers={
            "Authorization": f"Bearer {token(root, role)['FOUREYES_TOKEN']}"})
        assert r.json() == {"role": role, "identity": identity}
    assert httpx.get(url + "/v1/whoami").status_code == 401
    assert "/v1/whoami" in httpx.get(url + "/openapi.json").json()["paths"]
    out = propose(root, url, "payments.transfer")
    assert out.returncode == 0, out.stderr
    assert "proposed as agent:deploy-bot" in out.stderr
    out = propose(root, url, "payments.transfer", agent="agent:someone-else")
    assert out.returncode == 1 and "proposer" in out.stderr and "Traceback" not in out.stderr
    out = run("propose", "--server", url, "--route", "payments.transfer", "--params", PARAMS,
              "--summary", SUMMARY, "--requester", "dave@example.com", cwd=root,
              env=token(root, "gate"))
    assert out.returncode == 1 and "agent token" in out.stderr


def test_wait_exit_codes_progress_and_stats(deployment):
    root, url = deployment
    agent = token(root, "agent")
    pending = propose(root, url, "payments.transfer").stdout.strip()
    out = run("wait", pending, "--server", url, "--timeout", "0", cwd=root, env=agent)
    assert out.returncode == 4 and out.stderr == ""  # piped: quiet
    # on a terminal, a line per state change on stderr
    master, slave = pty.openpty()
    proc = subprocess.run([str(Path(sys.executable).parent / "foureyes"), "wait", pending,
                           "--server", url, "--timeout", "0"], cwd=root,
                          env={**os.environ, **agent}, stdout=subprocess.PIPE, stderr=slave,
                          text=True, check=False, timeout=60)
    os.close(slave)
    progress = os.read(master, 4096).decode()
    os.close(master)
    assert proc.returncode == 4 and re.search(r"\d\d:\d\d:\d\d pending", progress), progress
    # rejected: 1
    rejected = propose(root, url, "payments.transfer").stdout.strip()
    assert run("decide", rejected, "--reject", "--reason", "wrong vendor", "--server", url,
               *reviewer(root, "bob"), cwd=root).returncode == 0
    assert run("wait", rejected, "--server", url, cwd=root, env=agent).returncode == 1
    # expired: 3 (the iam rule takes the policy's 3 s ttl)
    expiring = propose(root, url, "iam.grant").stdout.strip()
    time.sleep(4.5)
    out = run("wait", expiring, "--server", url, "--timeout", "5", cwd=root, env=agent)
    assert out.returncode == 3 and "expired" in out.stdout
    # approved: 0, with bob and carol deciding together twice
    approved = propose(root, url, "payments.transfer").stdout.strip()
    fp = run("review", "show", approved, "--server", url, *reviewer(root, "bob"), cwd=root)
    fp = re.search(r"^Fingerprint (\w+)", fp.stdout, re.M).group(1)
    for who in ("bob", "carol"):
        assert run("decide", approved, "--approve", "--reason", "ok", "--yes-i-checked", fp,
                   "--server", url, *reviewer(root, who), cwd=root).returncode == 0
    assert run("wait", approved, "--server", url, cwd=root, env=agent).returncode == 0
    # unauthorized: 6
    out = run("wait", approved, "--server", url, cwd=root, env={"FOUREYES_TOKEN": "nope"})
    assert out.returncode == 6 and "Traceback" not in out.stderr
    # stats, from the server's log
    out = run("stats", "--data", "d/data", "--json", cwd=root)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    people = {r["reviewer"]: r for r in report["reviewers"]}
    assert people["bob@example.com"]["decisions"] == 2
    assert people["bob@example.com"]["rejects"] == 1
    assert people["bob@example.com"]["approval_rate"] == 0.5
    assert people["carol@example.com"]["approves"] == 1
    assert people["carol@example.com"]["median_seconds_to_decide"] is not None
    assert [e["proposal"] for e in report["expired"]] == [expiring]
    assert report["first_to_second_approval_seconds"]["median"] is not None
    table = run("stats", "--data", "d/data", cwd=root).stdout
    assert "bob@example.com" in table and "iam.grant" in table and "APPROVE%" in table


def test_tls_with_a_private_ca_and_the_plain_text_warning(tmp_path):
    port = free_port()
    assert run("init", "d", "--port", str(port), cwd=tmp_path).returncode == 0
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ed25519", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", "key.pem", "-out", "cert.pem"], cwd=tmp_path,
                   capture_output=True, check=True)
    env = base_env(tmp_path, on_path=True)
    server = start_background(
        f"exec foureyes serve --policy d/policy.toml --data d/data --log-key d/log.key "
        f"--port {port} --tls-cert cert.pem --tls-key key.pem", "listening on https://",
        tmp_path, env)
    try:
        url = f"https://127.0.0.1:{port}"
        out = run("review", "list", "--server", url, "--ca", "cert.pem",
                  "--identity", "bob@example.com", "--key-file", "d/reviewers/bob.key",
                  cwd=tmp_path)
        assert out.returncode == 0 and "Nothing to review" in out.stdout, out.stderr
        out = run("review", "list", "--server", url, "--identity", "bob@example.com",
                  "--key-file", "d/reviewers/bob.key", cwd=tmp_path)
        assert out.returncode == 1 and "unreachable" in out.stderr
        assert "Traceback" not in out.stderr
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(15)
    proc = subprocess.Popen(["bash", "-c", "exec foureyes serve --policy d/policy.toml "
                             "--data d/data --log-key d/log.key --host 0.0.0.0 --port 0"],
                            cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        line = proc.stderr.readline()
        assert "without TLS" in line, line
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(15)


POLICY_HEAD = 'schema = "foureyes.policy/v1"\nname = "t"\ndefault = "deny"\nttl = "30m"\n'


def test_policy_check_verifies_log_keys_and_warns_on_an_unreachable_quorum(tmp_path):
    out = run("log", "keygen", "--name", "q.example/log", "-o", "log.key", cwd=tmp_path)
    assert out.stdout.startswith("[[logs]]\nkey = \"q.example/log+")
    good = out.stdout
    keys = []
    for who in ("a", "b"):
        keys.append(run("keys", "new", "--identity", f"{who}@example.com", "--key-file",
                        f"{who}.key", cwd=tmp_path).stdout.splitlines()[1])
    roster = "".join(f'[[approvers]]\nidentity = "{w}@example.com"\nkey = "{k}"\n'
                     f'groups = ["sre"]\n' for w, k in zip("ab", keys, strict=True))
    gate = run("keys", "new", "--identity", "gate:prod", "--key-file", "g.key",
               cwd=tmp_path).stdout.splitlines()[1]
    body = (POLICY_HEAD + roster + f'[[gates]]\nidentity = "gate:prod"\nkey = "{gate}"\n'
            '[[rules]]\nroute = "iam.*"\napprovals = 2\ndistinct_groups = true\n')
    (tmp_path / "p.toml").write_text(body + good)
    out = run("policy", "check", "p.toml", cwd=tmp_path)
    assert out.returncode == 0, out.stderr  # no seal_key: fine for a server
    assert "can never reach its quorum" in out.stdout and "distinct_groups" in out.stdout
    hash8 = re.search(r"\+([0-9a-f]{8})\+", good).group(1)
    typo = good.replace(hash8, f"{(int(hash8, 16) ^ 1):08x}")
    (tmp_path / "p.toml").write_text(body + typo)
    out = run("policy", "check", "p.toml", cwd=tmp_path)
    assert out.returncode == 1 and "hash does not match" in out.stderr
    (tmp_path / "p.toml").write_text(body + good)
    out = run("folder", "init", "share", "--policy", "p.toml", cwd=tmp_path)
    assert out.returncode == 2 and "seal_key" in out.stderr


def test_a_wrong_gate_state_is_refused_not_waited_on(tmp_path):
    assert run("init", "u", "--transport", "folder", cwd=tmp_path).returncode == 0
    assert run("folder", "gate-init", "other", "--gate", "gate:prod", "--log-name", "x/y",
               cwd=tmp_path).returncode == 0
    out = run("wait", "0123456789ab", "--folder", "u/share", "--gate-state", "other",
              cwd=tmp_path)
    assert out.returncode == 1 and "wrong --gate-state" in out.stderr
    assert "Traceback" not in out.stderr
