"""No traceback ever reaches a person: every command's failure cases end in one `error:`
line (or click's one `Error:` line for a wrong command line) and a stable exit code."""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import click
import pytest

from core.cli.main import load_all

BIN = Path(sys.executable).parent
USAGE, FAILED, INTERNAL = 2, 1, 70


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    base = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    base.pop("FOUREYES_TOKEN", None)
    return subprocess.run([str(BIN / "foureyes"), *args], cwd=cwd, env={**base, **(env or {})},
                          capture_output=True, text=True, timeout=120, check=False)


def one_line_error(out: subprocess.CompletedProcess, code: int, words: str = "") -> None:
    text = out.stdout + out.stderr
    assert "Traceback" not in text, text
    assert out.returncode == code, (out.returncode, text)
    errors = [ln for ln in out.stderr.splitlines() if ln.lower().startswith("error")]
    assert len(errors) == 1, out.stderr
    assert words.lower() in errors[0].lower(), errors[0]


@pytest.fixture(scope="module")
def deploy(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("errors")
    assert run("init", "d", cwd=root).returncode == 0
    return root


def test_serve_on_a_busy_port(deploy):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        port = busy.getsockname()[1]
        out = run("serve", "--policy", "d/policy.toml", "--data", "d/data", "--log-key",
                  "d/log.key", "--port", str(port), cwd=deploy)
    one_line_error(out, FAILED, "address_in_use")


def test_serve_with_an_invalid_policy_writes_nothing(deploy):
    (deploy / "bad.toml").write_text('schema = "foureyes.policy/v1"\napproval = 2\n')
    out = run("serve", "--policy", "bad.toml", "--data", "fresh-data", cwd=deploy)
    one_line_error(out, FAILED, "policy")
    assert not (deploy / "fresh-data").exists()
    assert not (deploy / "fresh-data.log.key").exists()


def test_serve_refuses_a_log_key_the_policy_does_not_list(deploy):
    run("log", "keygen", "--name", "other/log", "-o", "other.key", cwd=deploy)
    out = run("serve", "--policy", "d/policy.toml", "--data", "other-data", "--log-key",
              "other.key", "--port", "0", cwd=deploy)
    one_line_error(out, FAILED, "log_key")
    assert "[[logs]]" in out.stdout and not (deploy / "other-data").exists()


def test_serve_with_a_bad_certificate(deploy):
    (deploy / "cert.pem").write_text("not a certificate")
    out = run("serve", "--policy", "d/policy.toml", "--data", "d/data", "--log-key",
              "d/log.key", "--tls-cert", "cert.pem", "--tls-key", "cert.pem", cwd=deploy)
    one_line_error(out, FAILED, "tls")
    out = run("serve", "--policy", "d/policy.toml", "--data", "d/data", "--tls-cert",
              "cert.pem", cwd=deploy)
    one_line_error(out, USAGE, "together")


def test_release_sign_without_sha256sums(deploy):
    (deploy / "dist").mkdir(exist_ok=True)
    out = run("release", "sign", "dist", "--identity", "alice@example.com", "--key-file",
              "d/reviewers/alice.key", cwd=deploy)
    one_line_error(out, USAGE, "SHA256SUMS")


def test_release_verify_names_a_namespace_not_allowed(deploy):
    dist = deploy / "rel"
    dist.mkdir()
    (dist / "f.tar.gz").write_text("x")
    assert run("release", "sums", "rel", "f.tar.gz", cwd=deploy).returncode == 0
    assert run("release", "sign", "rel", "--identity", "alice@example.com", "--key-file",
               "d/reviewers/alice.key", cwd=deploy).returncode == 0
    line = run("keys", "export", "--identity", "alice@example.com", "--key-file",
               "d/reviewers/alice.key", cwd=deploy).stdout  # decisions and login only
    (deploy / "signers").write_text(line)
    out = run("release", "verify", "rel", "--signers", "signers", "--threshold", "1",
              cwd=deploy)
    assert out.returncode == 1 and "namespace_not_allowed" in out.stdout, out.stdout
    assert "unknown_key" not in out.stdout
    line = run("keys", "export", "--identity", "alice@example.com", "--key-file",
               "d/reviewers/alice.key", "--namespace", "foureyes-release-v1",
               cwd=deploy).stdout
    (deploy / "signers").write_text(line)
    assert 'namespaces="foureyes-release-v1"' in line
    assert run("release", "verify", "rel", "--signers", "signers", "--threshold", "1",
               cwd=deploy).returncode == 0


class _Html401(http.server.BaseHTTPRequestHandler):
    def _answer(self) -> None:
        body = b"<html><body>401 Authorization Required</body></html>"
        self.send_response(401)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def html_401():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Html401)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_non_json_401(deploy, html_401):
    out = run("review", "list", "--server", html_401, "--identity", "bob@example.com",
              "--key-file", "d/reviewers/bob.key", cwd=deploy)
    one_line_error(out, FAILED, "unauthenticated")
    out = run("wait", "0123456789ab", "--server", html_401, cwd=deploy,
              env={"FOUREYES_TOKEN": "x"})
    one_line_error(out, 6, "unauthenticated")
    out = run("propose", "--server", html_401, "--route", "a", "--params", "{}", "--summary",
              "{}", "--requester", "dave@example.com", cwd=deploy,
              env={"FOUREYES_TOKEN": "x"})
    one_line_error(out, FAILED, "unauthenticated")


def test_unreachable_and_missing_token(deploy):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = run("wait", "0123456789ab", "--server", f"http://127.0.0.1:{port}", cwd=deploy,
              env={"FOUREYES_TOKEN": "x"})
    one_line_error(out, 5, "unreachable")
    out = run("wait", "0123456789ab", "--server", f"http://127.0.0.1:{port}", cwd=deploy)
    one_line_error(out, USAGE, "FOUREYES_TOKEN")


def test_app_demo_without_a_display(deploy):
    env = {"DISPLAY": "", "WAYLAND_DISPLAY": "", "QT_QPA_PLATFORM": ""}
    out = run("app", "--demo", cwd=deploy, env=env)
    one_line_error(out, FAILED, "no_display")


@pytest.mark.parametrize("args,code,words", [
    (("policy", "check", "garbage.toml"), FAILED, "policy"),
    (("policy", "allowed-signers", "garbage.toml"), FAILED, "policy"),
    (("verify", "garbage.toml"), USAGE, "not a proof bundle"),
    (("verify", "missing.foureyes"), USAGE, "not a proof bundle"),
    (("folder", "init", "share", "--policy", "garbage.toml"), FAILED, "policy"),
    (("tokens", "create", "--role", "agent", "--identity", "agent:x", "--data", "td",
      "--policy", "garbage.toml"), FAILED, "policy"),
    (("tokens", "revoke", "nothex", "--data", "d/data"), FAILED, ""),
    (("tokens", "list", "--data", "no-such-data"), USAGE, "does not exist"),
    (("demo", "--dir", "garbage.toml"), USAGE, "is a file"),
    (("folder", "gate-init", "gs", "--gate", "prod", "--log-name", "x/y"), FAILED,
     "identity"),
    (("log", "keygen", "--name", "x/y", "-o", "d/log.key"), FAILED, "key_exists"),
    (("release", "sums", "d", "missing.tgz"), FAILED, "missing.tgz"),
    (("keys", "rotate", "--identity", "bob@example.com", "--key-file", "nokey.key"), FAILED,
     "no_key"),
    (("review", "show", "0123456789ab", "--folder", "d/share-none", "--identity",
      "bob@example.com", "--key-file", "d/reviewers/bob.key"), FAILED, "unreachable"),
    (("log", "verify", "--db", "garbage.toml"), FAILED, ""),
    (("log", "verify", "--db", "d/data/server.sqlite", "--key", "typo+0000+AAAA"), USAGE,
     "key"),
    (("stats", "--data", "d/reviewers"), FAILED, "no Foureyes log"),
    (("stats",), USAGE, "exactly one"),
    (("release", "verify", "d", "--signers", "garbage.toml", "--threshold", "1"), FAILED,
     ""),
    (("keys", "show", "--identity", "bob@example.com", "--key-file", "garbage.toml"),
     FAILED, ""),
    (("keys", "new", "--identity", "Bob@x", "--key-file", "k"), FAILED, "identity"),
    (("init", "garbage.toml"), USAGE, "is a file"),
    (("init", "d"), USAGE, "not empty"),
    (("init", "fresh", "--log-name", "has space"), FAILED, ""),
    (("propose", "--folder", "d", "--gate-state", "d/reviewers", "--route", "a", "--params",
      "{}", "--summary", "{}", "--requester", "dave@example.com"), FAILED, "gate"),
    (("propose", "--server", "http://127.0.0.1:9", "--token", "x", "--route", "a",
      "--params", "[", "--summary", "{}", "--requester", "dave@example.com"), USAGE, "JSON"),
    (("decide", "0123456789ab", "--approve", "--reject", "--reason", "x", "--folder", "d",
      "--identity", "bob@example.com", "--key-file", "d/reviewers/bob.key"), USAGE,
     "exactly one"),
    (("gate", "run", "0123456789ab", "--folder", "d", "--", "true"), USAGE, "gate-state"),
    (("bundle", "export", "0123456789ab", "-o", "x.foureyes", "--folder", "nowhere"),
     FAILED, ""),
])
def test_bad_files_and_bad_input(deploy, args, code, words):
    (deploy / "garbage.toml").write_bytes(b"\x00\xff not toml [[[")
    one_line_error(run(*args, cwd=deploy), code, words)
    assert not (deploy / "fresh").exists()  # a refused init makes nothing


def _leaves(cmd: click.Command, path: tuple[str, ...] = ()):
    if isinstance(cmd, click.Group):
        for name, sub in sorted(cmd.commands.items()):
            yield from _leaves(sub, (*path, name))
    else:
        yield path, cmd


cli = load_all()
LEAVES = list(_leaves(cli))
assert len(LEAVES) > 30, "the command tree was not loaded"


@pytest.mark.parametrize("path", [p for p, c in LEAVES if any(
    getattr(x, "required", False) for x in c.params)], ids=" ".join)
def test_missing_arguments_are_one_usage_line(deploy, path):
    one_line_error(run(*path, cwd=deploy), USAGE, "missing")


def test_every_command_and_option_has_help_text():
    for path, cmd in LEAVES:
        assert cmd.help, path
        for param in cmd.params:
            if isinstance(param, click.Option):
                assert param.help, (path, param.opts)


def test_wait_documents_its_exit_codes():
    out = run("wait", "--help", cwd=Path.cwd())
    for words in ("0 approved", "1 rejected", "3 expired", "4 still pending",
                  "5 queue unreachable", "6 unauthorized"):
        assert words in " ".join(out.stdout.split()), words
