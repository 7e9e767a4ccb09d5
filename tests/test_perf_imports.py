"""`foureyes verify` starts fast because it imports only what verifying needs: no server,
HTTP, Qt, keyring or SQLite code (checked in a fresh interpreter, from sys.modules)."""

from __future__ import annotations

import json
import subprocess
import sys

FORBIDDEN = ("core.server", "core.queue", "core.gate", "app", "fastapi", "starlette",
             "uvicorn", "httpx", "httpcore", "anyio", "pydantic", "PySide6", "keyring",
             "secretstorage", "sqlite3", "sqlite_utils")

PROBE = """
import json, sys
from click.testing import CliRunner
from core.cli.main import cli
command = cli.get_command(None, "verify")
assert command is not None and command.name == "verify"
import core.bundle.verify, core.bundle.trust, core.cli.verify
print(json.dumps(sorted(sys.modules)))
"""


def test_verify_imports_no_server_http_qt_keyring_or_sqlite_code():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         check=True)
    loaded = json.loads(out.stdout)
    bad = [m for m in loaded if m.split(".")[0] in FORBIDDEN or m.startswith(FORBIDDEN)]
    assert bad == []
    assert "core.bundle.verify" in loaded


def test_other_commands_still_load_on_demand():
    out = subprocess.run([sys.executable, "-m", "core.cli.main", "--help"], capture_output=True,
                         text=True, check=False)
    assert out.returncode == 0
    for name in ("verify", "serve", "tokens", "log", "keys", "policy"):
        assert f"  {name}" in out.stdout, name
    out = subprocess.run([sys.executable, "-m", "core.cli.main", "log", "--help"],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 0 and "verify" in out.stdout
