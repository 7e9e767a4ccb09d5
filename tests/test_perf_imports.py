"""`foureyes verify` starts fast because it imports only what verifying needs: no server,
HTTP, Qt, keyring or SQLite code (checked in a fresh interpreter, from sys.modules)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

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


FAST_PROBE = """
import json, sys
from core.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit as e:
    code = e.code
print(json.dumps([code, sorted(sys.modules)]))
"""


def test_plain_verify_runs_without_click(vectors_dir):
    """`foureyes verify BUNDLE --trust T [--json]` reads its own arguments: no click."""
    args = [str(vectors_dir / "payment-2of4.foureyes"), "--trust", str(vectors_dir / "trust.toml")]
    for extra in ([], ["--json"]):
        out = subprocess.run([sys.executable, "-c", FAST_PROBE, "verify", *args, *extra],
                             capture_output=True, text=True, check=True)
        code, loaded = json.loads(out.stdout.splitlines()[-1])
        assert code == 0
        bad = [m for m in loaded if m.split(".")[0] in FORBIDDEN + ("click",)]
        assert bad == []


@pytest.mark.parametrize("args", [
    ["{v}/payment-2of4.foureyes", "--trust", "{v}/trust.toml"],
    ["--json", "{v}/payment-2of4.foureyes", "--trust={v}/trust.toml"],
    ["{v}/rejected-2of4.foureyes"],
    ["{v}/payment-2of4.foureyes", "--json"],
    ["{v}/trust.toml", "--trust", "{v}/trust.toml"],  # not a zip: exit 2
    ["{v}/payment-2of4.foureyes", "--trust", "{v}/payment-2of4.foureyes"],  # bad trust
    ["{v}/missing.foureyes"],
    ["{c}/bundles/local-name-differs.foureyes", "--trust", "{v}/trust.toml"],
])
def test_the_plain_path_answers_as_click_does(args, vectors_dir, capsys):
    from click.testing import CliRunner

    from core.cli.main import cli, main
    from core.cli.verify_run import plain_args

    corpus = Path(__file__).parent / "corpus"
    args = [a.format(v=vectors_dir, c=corpus) for a in args]
    assert plain_args(args) is not None  # so the fast path is what runs below
    with pytest.raises(SystemExit) as done:
        main(["verify", *args])
    fast = capsys.readouterr()
    r = CliRunner().invoke(cli, ["verify", *args])
    assert (done.value.code, fast.out, fast.err) == (r.exit_code, r.stdout, r.stderr)


@pytest.mark.parametrize("args", [
    [], ["--help"], ["-h"], ["a", "b"], ["a", "--trust"], ["a", "--trust", "-x"], ["--", "a"],
    ["a", "--trust", "t", "--trust", "u"], ["a", "--jsn"], ["-"], [""], ["."], ["a", "--trust="],
])
def test_anything_else_goes_through_click(args):
    from core.cli.verify_run import plain_args

    assert plain_args(args) is None
