"""A real PyInstaller build of both programs, then: the built CLI verifies the independent
vector, and the built app starts offscreen on a bundle and keeps running."""

from __future__ import annotations

import importlib.util
import subprocess
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]  # a full build; slower under load
APP_ALIVE_SECONDS = 8


@pytest.mark.skipif(importlib.util.find_spec("PyInstaller") is None,
                    reason="PyInstaller is not installed (it comes with the dev extra)")
def test_frozen_cli_builds_and_verifies(tmp_path, vectors_dir):
    import os
    import sys

    env = {**os.environ, "FOUREYES_BUILD_TARGETS": "cli,app", "PYTHON": sys.executable}
    out = subprocess.run(["bash", str(ROOT / "packaging" / "build.sh"), str(tmp_path / "dist")],
                         cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    tarball = next((tmp_path / "dist").glob("foureyes-*-linux-x86_64.tar.gz"))
    with tarfile.open(tarball) as t:
        names = t.getnames()
        assert all(m.uid == 0 and m.gid == 0 for m in t.getmembers())
        t.extractall(tmp_path / "unpacked", filter="data")
    assert "foureyes/foureyes" in names and "foureyes/foureyes.desktop" in names
    binary = tmp_path / "unpacked" / "foureyes" / "foureyes"
    r = subprocess.run([str(binary), "--version"], capture_output=True, text=True, check=False)
    assert r.returncode == 0 and "foureyes" in r.stdout
    r = subprocess.run([str(binary), "verify", str(vectors_dir / "payment-2of4.foureyes"),
                        "--trust", str(vectors_dir / "trust.toml")], capture_output=True,
                       text=True, check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    if importlib.util.find_spec("mcp") is not None:  # built with the extra: the proxy is in
        r = subprocess.run([str(binary), "mcp", "proxy", "--name", "t", "--listen",
                            "127.0.0.1:0", "--", "true"], capture_output=True, text=True,
                           check=False, env={k: v for k, v in os.environ.items()
                                             if k != "FOUREYES_CONFIG"})
        assert r.returncode == 1 and "[config] no gate configuration" in r.stderr, r.stderr
    sums = (tmp_path / "dist" / "SHA256SUMS").read_text()
    assert tarball.name in sums
    app = tmp_path / "unpacked" / "foureyes" / "foureyes-app"
    home = {"QT_QPA_PLATFORM": "offscreen", "FOUREYES_APP_HOME": str(tmp_path / "home"),
            "XDG_CONFIG_HOME": str(tmp_path / "cfg"), "XDG_DATA_HOME": str(tmp_path / "data")}
    proc = subprocess.Popen([str(app), str(vectors_dir / "payment-2of4.foureyes")],
                            env={**os.environ, **home}, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT)
    try:
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=APP_ALIVE_SECONDS)  # still running: it started and stayed up
    finally:
        proc.kill()
        proc.wait()
