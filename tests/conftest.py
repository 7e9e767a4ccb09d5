"""Shared fixtures: the independent vectors, a sample world, and strict warning handling."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
VECTORS = REPO.parent / "shared" / "vectors"


@pytest.fixture(scope="session")
def vectors_dir() -> Path:
    if not (VECTORS / "payment-2of4.foureyes").exists():
        pytest.fail(f"known-answer vectors missing at {VECTORS} (shared/ must sit beside the repo)")
    return VECTORS


@pytest.fixture(scope="session")
def vector_members(vectors_dir: Path) -> dict[str, bytes]:
    """Every member of the independent implementation's bundle, by name."""
    with zipfile.ZipFile(vectors_dir / "payment-2of4.foureyes") as z:
        return {name: z.read(name) for name in z.namelist()}


@pytest.fixture
def world():
    from core.sample import SampleWorld

    return SampleWorld.create()


@pytest.fixture
def server(tmp_path, world):
    """A real server process on loopback with the sample world's policy."""
    from tests.server_fixtures import Server

    srv = Server(world, tmp_path / "srv")
    srv.setup()
    srv.start()
    yield srv
    srv.stop()
