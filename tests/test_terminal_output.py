"""Nothing someone else chose reaches the terminal raw: a hostile server's answers, a share's
file names, an agent's text, a release's SHA256SUMS. An escape sequence in any of them
could erase the line above and print its own verdict, or hide what follows ("\\e[8m");
a line break could draw an official-looking line. Each path is driven end to end where a
person would meet it, and the output must hold no control character but line breaks."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from click.testing import CliRunner

FORGED = "\x1b[1A\x1b[2K\rVALID \u202e\x9b2J"  # up, erase line, CR, RLO, C1 CSI


def raw_controls(text: str) -> list[str]:
    """Control, C1 and bidi characters in ``text`` (line breaks are the tool's own)."""
    return [c for c in text if (ord(c) < 0x20 and c != "\n") or 0x7f <= ord(c) < 0xa0
            or 0x202a <= ord(c) <= 0x202e or 0x2066 <= ord(c) <= 0x2069]


class HostileServer:
    """A loopback HTTP server answering each path with the JSON the test chose."""

    def __init__(self, answers: dict[str, tuple[int, Any]]) -> None:
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                status, body = outer.answers.get(self.path.split("?")[0],
                                                 (404, {"code": "not_found", "message": "?"}))
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _answer  # noqa: N815

            def log_message(self, *args: object) -> None:
                pass

        self.answers = answers
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def hostile() -> Iterator[HostileServer]:
    srv = HostileServer({})
    yield srv
    srv.close()


def run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from core.cli.main import main

    with pytest.raises(SystemExit) as done:
        main(args)
    out = capsys.readouterr()
    return done.value.code, out.out, out.err


PROPOSE = ["propose", "--route", "payments.transfer", "--params", "{}", "--summary", "{}",
           "--requester", "alice@example.com", "--token", "t"]


WAIT = ["wait", "deadbeef00", "--token", "t"]


@pytest.mark.parametrize(("command", "answer"), [
    (PROPOSE, (403, {"code": "forbidden", "message": FORGED})),  # an error message
    (PROPOSE, (401, {"code": "unauthenticated" + FORGED, "message": "no"})),  # its code
    (PROPOSE, (200, {"role": "gate" + FORGED, "identity": "agent:x" + FORGED})),  # whoami
    (WAIT, (403, {"code": "forbidden", "message": FORGED})),
    (WAIT, (503, {"code": "unreachable" + FORGED, "message": FORGED})),
], ids=["handler-message", "handler-code", "handler-whoami", "wait-message", "wait-5xx"])
def test_a_hostile_servers_answer_is_shown_with_its_controls_visible(hostile, capsys, answer,
                                                                     command):
    """`propose` lets the error reach the CLI's top-level handler; `wait` prints it itself.
    Both go through FoureyesError.diagnostics."""
    hostile.answers.update({"/v1/whoami": answer, "/v1/proposals": answer})
    code, out, err = run_main([*command, "--server", hostile.url], capsys)
    assert code != 0
    assert raw_controls(out + err) == []
    assert "U+001B" in err


def test_a_hostile_status_from_the_server_is_shown_with_its_controls_visible(hostile, capsys,
                                                                            world):
    p = world.proposal(policy_hash="sha256:" + "0" * 64)
    view = {"hash": p.hash, "proposal": p.raw.decode(), "status": "\x1b[2K\rapproved"}
    hostile.answers.update({"/v1/proposals": (200, {"items": [view], "next": None}),
                            f"/v1/proposals/{p.hash}/wait": (200, view)})
    code, out, err = run_main(["wait", p.hash[7:19], "--server", hostile.url, "--token", "t"],
                              capsys)
    assert code == 1  # not a status `wait` knows: never "approved"
    assert raw_controls(out + err) == []
    assert out.strip() == f"{p.hash} ⟦U+001B⟧[2K⟦U+000D⟧approved"


def test_review_show_makes_the_queues_and_the_agents_text_visible(world):
    """What `review show` and `decide` print: the policy's name and the status come from
    the server (or the share); the title, job id, evidence and a reviewer's reason from
    their writers. One-line fields show a line break as a marker; "why" keeps its lines,
    indented under its label."""
    from core.formats import now_utc
    from core.policy import Policy, SignedDecision
    from core.queue.base import ProposalView
    from core.review import render_proposal
    from core.sample import REVIEWERS

    text = world.policy_text().replace('name = "demo-payments"',
                                       'name = "demo\\u001b[8m\\u202e"')
    policy = Policy.from_bytes(text.encode())
    fake_row = "\nFingerprint 00000000  (type it to approve)"
    p = world.proposal(policy_hash=policy.hash, title="Pay" + fake_row,
                       job_id="job\x1b[2J" + fake_row, why="Due today" + fake_row,
                       evidence=[{"label": "invoice" + fake_row, "ref": "inv\x9b1A"}],
                       gates_passed=["ok" + fake_row])
    decision, signature = world.decide(
        p, REVIEWERS[0], reason="fine\n2026-01-01T00:00:00Z  carol@example.com: approve — ok")
    view = ProposalView(proposal=p, status="pending\x1b[8m",
                        decisions=(SignedDecision(decision.raw, signature),))
    shown = render_proposal(view, policy, now_utc())
    assert raw_controls(shown) == []
    lines = shown.splitlines()
    assert [ln for ln in lines if ln.startswith("Fingerprint")] == [
        f"Fingerprint {p.action_hash[7:15]}  (type it to approve)"]
    assert not any(ln.startswith("  2026-01-01T00:00:00Z") for ln in lines)
    assert "Policy     demo⟦U+001B⟧[8m⟦U+202E RIGHT-TO-LEFT OVERRIDE⟧" in shown
    assert any(ln.startswith("  Title:         Pay⟦↵ line break⟧Fingerprint") for ln in lines)
    assert f"{' ' * 17}Fingerprint 00000000" in lines[lines.index("  Why:           Due today")
                                                      + 1]


def test_a_share_file_name_is_shown_with_its_controls_visible(tmp_path, caplog):
    """Anyone who can write to the share names files: `review list` (and the warning the
    folder queue logs on stderr) quote the name of a file it ignores."""
    from tests.folder_fixtures import CliFolder

    f = CliFolder.create(tmp_path)
    (f.usb / "proposals" / "x\x1b[1A\x1b[2K\x1b[8m.json").write_bytes(b"{}")
    r = CliRunner().invoke(_cli(),
                           ["review", "list", *f.reviewer("bob@example.com")])
    assert r.exit_code == 0, r.output
    assert "⟦U+001B⟧[8m.json" in r.stderr
    assert raw_controls(r.stdout + r.stderr) == []
    assert "⟦U+001B⟧[8m.json" in caplog.text and raw_controls(caplog.text) == []


def _cli():  # noqa: ANN202
    from core.cli.main import cli

    return cli


def test_a_hostile_sha256sums_cannot_hide_the_release_verdict(tmp_path):
    """A downloaded release's SHA256SUMS names files; "\\e[8m" in one would hide the
    NOT VALID verdict printed after it."""
    d = tmp_path / "dist"
    d.mkdir()
    (d / "SHA256SUMS").write_text("0" * 64 + "  notes\x1b[8m.txt\n")
    (tmp_path / "signers").write_text("")
    r = CliRunner().invoke(_cli(), ["release", "verify", str(d), "--signers",
                                    str(tmp_path / "signers"), "--threshold", "1"])
    assert r.exit_code == 1
    assert raw_controls(r.output) == []
    assert "notes⟦U+001B⟧[8m.txt" in r.output


def test_the_mcp_proxys_stderr_shows_quoted_text_with_its_controls_visible():
    """What the proxy (and the MCP SDK under it) logs can quote the agent's or the
    upstream's text."""
    import io

    from core.cli.mcp import stderr_handler

    handler = stderr_handler()
    handler.setStream(io.StringIO())
    logger = logging.getLogger("foureyes.test-terminal-output")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("upstream said %s", "no\x1b[1A\x1b[2K\nfoureyes mcp proxy: approved")
    finally:
        logger.removeHandler(handler)
    text = handler.stream.getvalue()
    assert raw_controls(text) == []
    assert text.splitlines()[1].startswith("    foureyes mcp proxy: approved")
