"""Every command block of README.md and docs/*.md runs, in order, in a fresh directory.

A document's ```bash blocks run in one shell (`set -euo pipefail`), as a person would type
them in one terminal, so variables carry from block to block. Marks, in an HTML comment on
the line before a block:
- `<!-- illustrative: why -->`  not run (kept few: installs, keyrings, displays, builds);
- `<!-- background: TEXT -->`   started in its own process (a server in its own terminal),
  waited for until it prints TEXT, stopped when the document is done;
- `<!-- file: NAME -->`         any block: its text is written to NAME (e.g. a policy).
Port 8700 is replaced by a free port, so documents run beside other servers.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
BLOCK = re.compile(r"(?:<!-- (?P<mark>[a-z]+)(?::\s*(?P<arg>[^>]*?))? -->\n)?"
                   r"```(?P<lang>[a-z]*)\n(?P<body>.*?)^```", re.S | re.M)
MAX_ILLUSTRATIVE = 8
BLOCK_TIMEOUT = 180.0
DONE = "@@block-done@@"


def blocks(doc: Path) -> list[dict[str, str]]:
    return [m.groupdict() for m in BLOCK.finditer(doc.read_text("utf-8"))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def base_env(root: Path, on_path: bool) -> dict[str, str]:
    env = {**os.environ, "XDG_STATE_HOME": str(root / ".state"), "PYTHONUNBUFFERED": "1",
           "FOUREYES_APP_HOME": str(root / ".app")}
    env.pop("FOUREYES_TOKEN", None)
    env.pop("VIRTUAL_ENV", None)
    venv_bin = str(Path(sys.executable).parent)
    paths = [p for p in env["PATH"].split(os.pathsep) if p != venv_bin]
    env["PATH"] = os.pathsep.join(([venv_bin] if on_path else []) + paths)
    return env


class Shell:
    """One bash reading blocks from stdin; a failing command ends it (set -e)."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(["bash", "--noprofile", "--norc"], cwd=cwd, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, bufsize=1)
        self.lines: queue.Queue[str | None] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.send("set -euo pipefail")

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(None)

    def send(self, text: str) -> str:
        self.proc.stdin.write(text + f"\necho {DONE}\n")
        self.proc.stdin.flush()
        out: list[str] = []
        deadline = time.monotonic() + BLOCK_TIMEOUT
        while True:
            try:
                line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"block timed out:\n{text}\n---\n{''.join(out)}") from None
            if line is None:
                raise AssertionError(f"block failed (exit {self.proc.wait()}):\n{text}\n---\n"
                                     + "".join(out))
            if line.strip() == DONE:
                return "".join(out)
            out.append(line)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.close()
            self.proc.wait(30)


def start_background(body: str, wanted: str, cwd: Path, env: dict[str, str]) -> subprocess.Popen:
    proc = subprocess.Popen(["bash", "-c", body], cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    seen: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        seen.append(line)
        if wanted in line:
            threading.Thread(target=proc.stdout.read, daemon=True).start()
            return proc
    os.killpg(proc.pid, signal.SIGKILL)
    raise AssertionError(f"background block never printed {wanted!r}:\n{body}\n---\n"
                         + "".join(seen))


def run_document(doc: Path, root: Path) -> list[str]:
    (root / ".venv").symlink_to(Path(sys.prefix))
    port = str(free_port())
    is_readme = doc.name == "README.md"
    shell = Shell(root, base_env(root, on_path=not is_readme))
    background: list[subprocess.Popen] = []
    outputs = []
    try:
        for block in blocks(doc):
            body = block["body"].replace("8700", port)
            mark, arg = block["mark"], (block["arg"] or "").strip()
            if mark == "file":
                (root / arg).write_text(block["body"], "utf-8")
                continue
            if block["lang"] != "bash" or mark == "illustrative":
                continue
            if mark == "background":
                background.append(start_background(body, arg, root,
                                                   base_env(root, on_path=True)))
                continue
            assert mark is None, f"unknown mark {mark!r} in {doc.name}"
            out = shell.send(body)
            assert "Traceback" not in out, out
            outputs.append(out)
    finally:
        shell.close()
        for proc in background:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                proc.wait(15)
    return outputs


@pytest.mark.parametrize("doc", DOCS, ids=[d.name for d in DOCS])
def test_every_command_block_runs(doc: Path, tmp_path):
    outputs = run_document(doc, tmp_path)
    if doc.name == "README.md":
        text = "".join(outputs)
        assert "VALID" in text and "(4: still pending)" in text
        assert (tmp_path / "payment.foureyes").is_file()
        assert (tmp_path / "usb-payment.foureyes").is_file()
    if doc.name == "policy.md":  # the full example is accepted without a warning
        assert "sha256:" in outputs[-1] and "warning" not in "".join(outputs)


def test_illustrative_blocks_stay_few_and_say_why():
    marked = [(d.name, b["arg"]) for d in DOCS for b in blocks(d)
              if b["mark"] == "illustrative"]
    assert len(marked) <= MAX_ILLUSTRATIVE, marked
    assert all(why for _, why in marked), marked


def test_user_facing_text_has_no_spec_section_references():
    for doc in [REPO / "README.md", REPO / "docs" / "policy.md"]:
        assert "SPEC §" not in doc.read_text("utf-8"), doc.name


def test_the_sdk_example_runs_against_a_real_server(tmp_path):
    """docs/examples/gate_payment.py as written: it proposes, prints the two `decide` lines,
    and pays once after they run."""
    env = base_env(tmp_path, on_path=True)
    port = free_port()
    assert subprocess.run(["foureyes", "init", "deploy", "--port", str(port)], cwd=tmp_path,
                          env=env, capture_output=True, check=False).returncode == 0
    server = start_background(f"exec foureyes serve --policy deploy/policy.toml --data "
                              f"deploy/data --log-key deploy/log.key --port {port}",
                              "listening on", tmp_path, env)
    example = subprocess.Popen([sys.executable, str(REPO / "docs" / "examples" /
                                                    "gate_payment.py"),
                                "deploy", f"http://127.0.0.1:{port}"], cwd=tmp_path, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = example.stdout.readline()
        assert first.startswith("proposed sha256:"), first + example.stderr.read()
        for _ in range(2):
            line = example.stdout.readline().strip()
            assert line.startswith("foureyes decide"), line
            out = subprocess.run(["bash", "-c", line], cwd=tmp_path, env=env,
                                 capture_output=True, text=True, check=False)
            assert out.returncode == 0, out.stderr
        rest, err = example.communicate(timeout=120)
        assert example.returncode == 0, rest + err
        assert "paid 1200.00 USD to acct-991" in rest and "receipt sha256:" in rest
    finally:
        if example.poll() is None:
            example.kill()
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(15)
