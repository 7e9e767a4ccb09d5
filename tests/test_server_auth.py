"""Hardening of the real server process: login bound to the server's public URL, roster
validity at login and on every request, expiring and revocable tokens, role checks against
the active policy, paged lists, slow and garbage input, and the data directory's modes."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import stat
import subprocess
import sys
import time

import httpx
import pytest

from core.errors import InvalidData
from core.queue.http import HttpQueue
from core.sample import AGENT, SampleWorld
from core.signing import Signer
from tests.server_fixtures import Server, cli

BOB, CAROL, DAVE, ALICE = ("bob@example.com", "carol@example.com", "dave@example.com",
                           "alice@example.com")
ERIN = "erin@example.com"
LOGIN_NS = "foureyes-login-v1"


def _challenge(url: str, identity: str, **headers: str) -> httpx.Response:
    return httpx.post(url + "/v1/login/challenge", json={"identity": identity},
                      headers=headers)


def _login(url: str, challenge: str, signer: Signer) -> httpx.Response:
    return httpx.post(url + "/v1/login", json={
        "challenge": challenge, "signature": signer.sign(challenge.encode(), LOGIN_NS)})


def _netloc(url: str) -> str:
    return httpx.URL(url).netloc.decode()


def _erin_world(**window: str) -> SampleWorld:
    world = SampleWorld.create()
    erin = Signer(bytes(range(1, 33)))
    world.signers[ERIN] = erin
    lines = f'[[approvers]]\nidentity = "{ERIN}"\nkey = "{erin.public_key.openssh()}"\n'
    lines += "".join(f'{k} = "{v}"\n' for k, v in window.items())
    world.extra_approvers = lines
    return world


# ---------------------------------------------------------------- 1. login binding


def test_challenge_names_the_public_host_whatever_host_header_is_sent(server):
    r = _challenge(server.url, BOB, host="evil.example:8700")
    assert r.status_code == 200, r.text
    assert r.json()["challenge"].split("\n")[1] == _netloc(server.url)


def test_login_refuses_a_challenge_naming_another_host(server):
    """A look-alike server relays the real nonce inside a challenge naming itself."""
    real = _challenge(server.url, BOB).json()["challenge"]
    lines = real.split("\n")
    lines[1] = "evil.example:8700"
    relayed = "\n".join(lines)
    r = _login(server.url, relayed, server.world.signer(BOB))
    assert r.status_code == 401 and r.json()["code"] == "challenge", r.text
    ok = _login(server.url, real, server.world.signer(BOB))  # the real one still works
    assert ok.status_code == 200, ok.text


class _To(httpx.BaseTransport):
    """Send every request to `target` while keeping the URL (and Host) the client used."""

    def __init__(self, target: str) -> None:
        self.target = httpx.URL(target)
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(scheme="http", host=self.target.host,
                                           port=self.target.port)
        return self.inner.handle_request(request)


def test_public_url_is_what_challenges_name(tmp_path, world):
    public = "https://queue.example:8443"
    srv = Server(world, tmp_path / "s", extra_args=("--public-url", public))
    srv.setup()
    srv.start()
    try:
        ch = _challenge(srv.url, BOB).json()["challenge"]
        assert ch.split("\n")[1] == "queue.example:8443"
        # a client that reached the server as 127.0.0.1 refuses to sign for queue.example
        with pytest.raises(InvalidData) as e:
            srv.reviewer(BOB).login()
        assert e.value.code == "login"
        # a client using the public URL logs in normally (a proxy would sit in between)
        q = HttpQueue(public, identity=BOB, signer=world.signer(BOB), transport=_To(srv.url))
        q.login()
        assert q.token and q.list_proposals() == []
    finally:
        srv.stop()


def test_a_normal_client_login_works(server):
    q = server.reviewer(BOB)
    q.login()
    assert q.token and q.list_proposals() == []


def test_challenges_are_rate_limited_per_identity_and_overall(tmp_path, world):
    srv = Server(world, tmp_path / "s", extra_args=("--login-rate", "3",
                                                     "--login-rate-total", "7"))
    srv.setup()
    srv.start()
    try:
        codes = [_challenge(srv.url, BOB).status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]
        r = _challenge(srv.url, BOB)
        assert r.json()["code"] == "rate_limited"
        codes = [_challenge(srv.url, who).status_code for who in (CAROL, CAROL, DAVE, DAVE,
                                                                   ALICE)]
        assert codes == [200, 200, 200, 200, 429]  # 7 in the window overall
        db = sqlite3.connect(srv.data / "server.sqlite")
        assert db.execute("SELECT COUNT(*) FROM challenges").fetchone()[0] <= 7
        db.close()
    finally:
        srv.stop()


def test_challenge_for_someone_outside_the_roster_is_refused(server):
    r = _challenge(server.url, "mallory@example.com")
    assert r.status_code == 403 and r.json()["code"] == "not_in_roster"


# ---------------------------------------------------------------- 2. validity window


@pytest.mark.parametrize("window", [{"valid_before": "2020-01-01T00:00:00Z"},
                                    {"valid_after": "2099-01-01T00:00:00Z"}])
def test_login_outside_the_roster_window_is_refused(tmp_path, window):
    world = _erin_world(**window)
    srv = Server(world, tmp_path / "s")
    srv.setup()
    srv.start()
    try:
        ch = _challenge(srv.url, ERIN).json()["challenge"]
        r = _login(srv.url, ch, world.signer(ERIN))
        assert r.status_code == 403 and r.json()["code"] == "key_not_valid", r.text
    finally:
        srv.stop()


def test_session_dies_when_the_roster_window_closes(tmp_path):
    from core.formats import format_time, now_utc

    soon = now_utc().replace(microsecond=0)
    from datetime import timedelta

    closes = soon + timedelta(seconds=18)  # room for a slow start-up
    world = _erin_world(valid_before=format_time(closes))
    srv = Server(world, tmp_path / "s")
    srv.setup()
    srv.start()
    try:
        erin = srv.reviewer(ERIN)
        erin.list_proposals()
        time.sleep(max(0.0, (closes - now_utc()).total_seconds()) + 1)
        r = httpx.get(srv.url + "/v1/proposals", headers={"Authorization": f"Bearer {erin.token}"})
        assert r.status_code == 403 and r.json()["code"] == "key_not_valid", r.text
    finally:
        srv.stop()


def test_removing_a_reviewer_from_the_policy_kills_their_session(tmp_path):
    world = _erin_world()
    srv = Server(world, tmp_path / "s")
    srv.setup()
    srv.start()
    erin = srv.reviewer(ERIN)
    erin.list_proposals()
    srv.stop()
    world.extra_approvers = ""
    srv.setup()
    srv.start()
    try:
        r = httpx.get(srv.url + "/v1/proposals", headers={"Authorization": f"Bearer {erin.token}"})
        assert r.status_code == 403 and r.json()["code"] == "key_not_valid", r.text
        assert httpx.get(srv.url + "/v1/proposals", headers={
            "Authorization": f"Bearer {srv.agent_token}"}).status_code == 200
    finally:
        srv.stop()


# ---------------------------------------------------------------- 3. tokens


def _tokens(srv: Server, *args: str) -> subprocess.CompletedProcess:
    return cli("tokens", *args, "--data", str(srv.data))


def test_tokens_expire(tmp_path, world):
    srv = Server(world, tmp_path / "s")
    srv.setup()
    out = _tokens(srv, "create", "--role", "agent", "--identity", AGENT, "--policy",
                  str(srv.root / "policy.toml"), "--expires-in", "10s")
    expires = time.time() + 10
    assert out.returncode == 0, out.stderr
    token = out.stdout.strip().splitlines()[-1]
    srv.start()
    try:
        auth = {"Authorization": f"Bearer {token}"}
        assert httpx.get(srv.url + "/v1/proposals", headers=auth).status_code == 200
        time.sleep(max(0.0, expires - time.time()) + 0.5)
        r = httpx.get(srv.url + "/v1/proposals", headers=auth)
        assert r.status_code == 401 and r.json()["code"] == "token_expired"
    finally:
        srv.stop()


def test_tokens_have_a_default_lifetime(server):
    db = sqlite3.connect(server.data / "server.sqlite")
    rows = db.execute("SELECT role, expires_at FROM tokens").fetchall()
    db.close()
    assert rows and all(exp is not None for _, exp in rows)
    assert all(exp < time.time() + 400 * 86400 for _, exp in rows)


def test_tokens_list_and_revoke(server):
    out = _tokens(server, "list")
    assert out.returncode == 0, out.stderr
    for secret in (server.agent_token, server.gate_token, server.auditor_token):
        assert secret not in out.stdout
        assert secret[4:20] not in out.stdout
    assert AGENT in out.stdout and "gate:prod" in out.stdout
    line = next(ln for ln in out.stdout.splitlines() if AGENT in ln)
    token_id = line.split()[0]
    auth = {"Authorization": f"Bearer {server.agent_token}"}
    assert httpx.get(server.url + "/v1/proposals", headers=auth).status_code == 200
    out = _tokens(server, "revoke", token_id)
    assert out.returncode == 0, out.stderr
    r = httpx.get(server.url + "/v1/proposals", headers=auth)
    assert r.status_code == 401 and r.json()["code"] == "token_revoked", r.text
    assert _tokens(server, "revoke", "nosuchid").returncode != 0
    listed = _tokens(server, "list", "--all").stdout
    assert "revoked" in listed


@pytest.mark.parametrize("role,identity", [
    ("auditor", BOB),             # an approver may not hold an auditor token
    ("agent", "gate:prod"),       # agent tokens name agent: identities
    ("gate", "gate:elsewhere"),   # gate tokens name a gate of the policy
    ("gate", AGENT),
])
def test_tokens_that_do_not_fit_the_policy_are_not_issued(server, role, identity):
    out = _tokens(server, "create", "--role", role, "--identity", identity, "--policy",
                  str(server.root / "policy.toml"))
    assert out.returncode != 0, out.stdout
    assert "identity" in out.stderr or "role" in out.stderr


def test_an_auditor_who_becomes_an_approver_loses_the_token(tmp_path):
    world = _erin_world()
    world_without = world.extra_approvers
    world.extra_approvers = ""
    srv = Server(world, tmp_path / "s")
    srv.setup()
    erin_auditor = srv.token("auditor", ERIN)
    srv.start()
    auth = {"Authorization": f"Bearer {erin_auditor}"}
    assert httpx.get(srv.url + "/v1/log/checkpoint", headers=auth).status_code == 200
    srv.stop()
    world.extra_approvers = world_without
    srv.setup()
    srv.start()
    try:
        for path in ("/v1/log/checkpoint", "/v1/proposals", "/v1/log/entries"):
            r = httpx.get(srv.url + path, headers=auth)
            assert r.status_code == 403 and r.json()["code"] == "role_conflict", (path, r.text)
    finally:
        srv.stop()


def test_a_gate_token_for_a_gate_that_left_the_policy_is_refused(server):
    db = sqlite3.connect(server.data / "server.sqlite")
    from core.server.store import token_hash

    db.execute("INSERT INTO tokens (hash, role, identity, expires_at) VALUES (?,?,?,?)",
               (token_hash("fey_stale"), "gate", "gate:old", time.time() + 60))
    db.commit()
    db.close()
    r = httpx.get(server.url + "/v1/proposals", headers={"Authorization": "Bearer fey_stale"})
    assert r.status_code == 403 and r.json()["code"] == "not_a_gate", r.text


# ---------------------------------------------------------------- 4. bounded surface


def test_lists_are_paged(server):
    from core.policy import Policy

    world = server.world
    h = Policy.from_bytes(world.policy_bytes()).hash
    made = []
    for _ in range(3):
        p = world.proposal(policy_hash=h)
        server.agent().submit_proposal(p)
        made.append(p.hash)
    auth = {"Authorization": f"Bearer {server.auditor_token}"}
    page = httpx.get(server.url + "/v1/proposals", params={"limit": 2}, headers=auth)
    assert page.status_code == 200, page.text
    first = page.json()
    assert len(first["items"]) == 2 and first["next"] is not None
    rest = httpx.get(server.url + "/v1/proposals", params={"limit": 2, "offset": first["next"]},
                     headers=auth).json()
    assert len(rest["items"]) == 1 and rest["next"] is None
    assert {v["hash"] for v in first["items"] + rest["items"]} == set(made)
    too_many = httpx.get(server.url + "/v1/proposals", params={"limit": 100_000}, headers=auth)
    assert too_many.status_code == 400
    # the client pages through everything
    assert {v.hash for v in server.auditor().list_proposals()} == set(made)


@pytest.mark.parametrize("path,params", [
    ("/v1/log/entries", {"start": str(10**30), "stop": str(10**31)}),
    ("/v1/log/entries", {"start": "-5", "stop": str(2**63)}),
    ("/v1/log/proof", {"index": str(10**30), "size": str(10**30)}),
    ("/v1/log/proof", {"index": "-1", "size": "1"}),
    ("/v1/log/consistency", {"old": str(2**64), "new": str(2**64)}),
    ("/v1/proposals", {"offset": str(10**30)}),
    ("/v1/proposals/x/wait", {"timeout": "1e999"}),
])
def test_huge_query_values_get_a_4xx(server, path, params):
    auth = {"Authorization": f"Bearer {server.auditor_token}"}
    r = httpx.get(server.url + path, params=params, headers=auth, timeout=40)
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    assert r.json()["code"]


@pytest.mark.parametrize("path,body", [
    ("/v1/login/challenge", '{"identity": "bob@example.com\\ud800"}'),
    ("/v1/login", '{"challenge": "foureyes-login\\n\\ud800\\n", "signature": "x"}'),
    ("/v1/proposals", '{"proposal": "{\\"a\\": \\"\\udc00\\"}"}'),
    ("/v1/proposals/sha256:00/decisions", '{"decision": "\\ud800", "signature": "s"}'),
    ("/v1/proposals/sha256:00/receipt", '{"receipt": "\\ud800", "signature": "s"}'),
])
def test_lone_surrogates_get_a_4xx(server, path, body):
    token = server.gate_token if path.endswith(("receipt", "proposals")) else None
    reviewer = server.reviewer(BOB)
    if path.endswith("decisions"):
        reviewer.login()
        token = reviewer.token
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    r = httpx.post(server.url + path, content=body.encode(), headers=headers)
    assert 400 <= r.status_code < 500, (r.status_code, r.text)
    assert r.json()["code"]


def test_a_half_sent_body_times_out(tmp_path, world):
    srv = Server(world, tmp_path / "s", extra_args=("--body-timeout", "1"))
    srv.setup()
    srv.start()
    try:
        url = httpx.URL(srv.url)
        with socket.create_connection((url.host, url.port), timeout=10) as s:
            s.sendall(b"POST /v1/login/challenge HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"iden")
            started = time.monotonic()
            answer = b""
            while chunk := s.recv(4096):
                answer += chunk
            assert time.monotonic() - started < 8
        assert answer.startswith(b"HTTP/1.1 408"), answer
        assert b'"code":"timeout"' in answer
        assert httpx.get(srv.url + "/health").status_code == 200
    finally:
        srv.stop()


# ---------------------------------------------------------------- 5. files on disk


def test_data_directory_and_database_files_are_private(server):
    server.reviewer(BOB).list_proposals()  # writes: the -wal and -shm files exist
    assert stat.S_IMODE(os.stat(server.data).st_mode) == 0o700
    names = [n for n in os.listdir(server.data) if n.startswith("server.sqlite")]
    assert {"server.sqlite", "server.sqlite-wal", "server.sqlite-shm"} <= set(names), names
    for name in names:
        assert stat.S_IMODE(os.stat(server.data / name).st_mode) == 0o600, name


def test_the_log_key_is_made_outside_the_data_directory(tmp_path, world):
    """First start makes the log key beside DATA, then refuses to run until the policy
    lists it (checkpoints under an unlisted key would never count), writing no data."""
    root = tmp_path / "s"
    root.mkdir()
    (root / "policy.toml").write_bytes(world.policy_bytes())
    data = root / "data"
    out = subprocess.run([sys.executable, "-m", "core.cli.main", "serve", "--policy",
                          str(root / "policy.toml"), "--data", str(data), "--port", "0"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1, out.stdout + out.stderr
    assert "log key" in out.stdout.lower() and "[[logs]]" in out.stdout
    assert "log_key" in out.stderr
    assert not data.exists()
    key_files = list(root.glob("*.key"))
    assert len(key_files) == 1
    assert stat.S_IMODE(os.stat(key_files[0]).st_mode) == 0o600


def test_a_log_key_inside_the_data_directory_is_refused(tmp_path, world):
    root = tmp_path / "s"
    root.mkdir()
    (root / "policy.toml").write_bytes(world.policy_bytes())
    out = subprocess.run([sys.executable, "-m", "core.cli.main", "serve", "--policy",
                          str(root / "policy.toml"), "--data", str(root / "data"), "--port",
                          "0", "--log-key", str(root / "data" / "log.key")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert "outside" in (out.stdout + out.stderr)


def test_errors_are_json_with_a_declared_code(server):
    from core.codes import REGISTRY

    r = httpx.get(server.url + "/v1/proposals", headers={"Authorization": "Bearer nope"})
    assert r.json()["code"] in REGISTRY
    assert json.loads(r.text)["message"]


def test_a_log_key_left_in_the_data_directory_is_not_used_silently(tmp_path, world):
    from core.log.keyfile import save_log_key

    root = tmp_path / "s"
    (root / "data").mkdir(parents=True)
    (root / "policy.toml").write_bytes(world.policy_bytes())
    save_log_key(root / "data" / "log.key", world.log_signer)
    out = subprocess.run([sys.executable, "-m", "core.cli.main", "serve", "--policy",
                          str(root / "policy.toml"), "--data", str(root / "data"), "--port",
                          "0"], capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert "--log-key" in out.stdout + out.stderr
