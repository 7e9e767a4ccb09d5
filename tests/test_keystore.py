"""One conformance suite for both key sources: a 0600 key file and the real OS keyring.

The keyring half runs against a real Secret Service (gnome-keyring in a private D-Bus
session, started by scripts/test.sh). On CI that variable is always set, so these tests
always run there.
"""

from __future__ import annotations

import os
import uuid

import keyring
import keyring.backends.fail
import pytest
from click.testing import CliRunner

from core.cli.main import cli
from core.errors import InvalidData, TransportError
from core.signing import FileKeySource, KeyringKeySource, verify

REAL_KEYRING = os.environ.get("FOUREYES_TEST_KEYRING") == "1"


@pytest.fixture(params=["file", pytest.param("keyring", marks=pytest.mark.keyring)])
def source(request, tmp_path):
    if request.param == "file":
        yield FileKeySource(tmp_path / "key"), f"t{uuid.uuid4().hex[:8]}@example.com"
        return
    if not REAL_KEYRING:
        pytest.skip("needs scripts/test.sh (real Secret Service)")
    src = KeyringKeySource(service="foureyes-test")
    who = f"t{uuid.uuid4().hex[:8]}@example.com"
    yield src, who
    src.delete(who)


def test_create_sign_and_refuse_overwrite(source):
    src, who = source
    assert not src.exists(who)
    pub = src.create(who)
    assert src.exists(who) and src.public_key(who) == pub
    sig = src.signer(who).sign(b"hello", "foureyes-decision-v1")
    assert verify(sig, b"hello", "foureyes-decision-v1") == pub
    with pytest.raises(InvalidData) as e:
        src.create(who)
    assert e.value.code == "key_exists"


def test_missing_key_says_how_to_make_one(source):
    src, who = source
    with pytest.raises(InvalidData) as e:
        src.signer(who)
    assert e.value.code == "no_key" and "keys new" in e.value.message


def test_rotate_keeps_previous_until_removed(source):
    src, who = source
    old = src.create(who)
    new = src.rotate(who)
    assert new != old and src.public_key(who) == new
    assert src.previous_public_key(who) == old
    src.remove_previous(who)
    assert src.previous_public_key(who) is None


@pytest.mark.keyring
def test_keyring_seed_is_in_the_secret_service_not_on_disk(tmp_path):
    if not REAL_KEYRING:
        pytest.skip("needs scripts/test.sh (real Secret Service)")
    assert type(keyring.get_keyring()).__module__ == "keyring.backends.SecretService"
    src = KeyringKeySource(service="foureyes-test")
    who = f"k{uuid.uuid4().hex[:8]}@example.com"
    try:
        src.create(who)
        stored = keyring.get_password("foureyes-test", who)
        assert stored and len(stored) == 44  # base64 of the 32-byte seed
    finally:
        src.delete(who)


def plaintext_backend():
    """Stands in for keyrings.alt's plaintext file backend. Made lazily, after keyring has
    chosen its real default, because every KeyringBackend subclass joins keyring's own
    backend discovery the moment it is defined."""
    import keyring.backend

    keyring.get_keyring()

    class PlaintextKeyring(keyring.backend.KeyringBackend):
        priority = 0.5

        def get_password(self, service, username):
            return None

        def set_password(self, service, username, password):
            raise AssertionError("must never be called")

        def delete_password(self, service, username):
            pass

    return PlaintextKeyring()


@pytest.fixture
def swap_backend():
    before = keyring.get_keyring()

    def use(backend):
        keyring.set_keyring(backend)

    yield use
    keyring.set_keyring(before)


@pytest.mark.parametrize("make", [keyring.backends.fail.Keyring, plaintext_backend])
def test_insecure_or_missing_backend_is_refused(swap_backend, make):
    swap_backend(make())
    with pytest.raises(TransportError) as e:
        KeyringKeySource().create("bob@example.com")
    assert e.value.code == "keyring_unavailable"
    assert "--key-file" in e.value.message


def test_key_file_permissions_and_identity(tmp_path):
    path = tmp_path / "k"
    FileKeySource(path).create("bob@example.com")
    path.chmod(0o644)
    with pytest.raises(InvalidData) as e:
        FileKeySource(path).signer("bob@example.com")
    assert e.value.code == "key_file_permissions"


def test_keys_cli(tmp_path):
    runner = CliRunner()
    path = tmp_path / "bob.key"
    r = runner.invoke(cli, ["keys", "new", "--identity", "bob@example.com", "--key-file",
                            str(path)])
    assert r.exit_code == 0, r.output
    line, fp = r.output.strip().splitlines()[-2:]
    r = runner.invoke(cli, ["keys", "show", "--identity", "bob@example.com", "--key-file",
                            str(path)])
    assert r.output.strip().splitlines() == [line, fp] and fp.startswith("SHA256:")
    r = runner.invoke(cli, ["keys", "export", "--identity", "bob@example.com", "--key-file",
                            str(path)])
    assert r.output.startswith('bob@example.com namespaces="foureyes-decision-v1')
    assert line in r.output
    r = runner.invoke(cli, ["keys", "new", "--identity", "bob@example.com", "--key-file",
                            str(path)])
    assert r.exit_code != 0
    r = runner.invoke(cli, ["keys", "new", "--identity", "Bob@example.com", "--key-file",
                            str(tmp_path / "x")])
    assert r.exit_code != 0


def test_keys_cli_reports_missing_keyring_plainly(swap_backend):
    from core.cli.main import main

    swap_backend(keyring.backends.fail.Keyring())
    with pytest.raises(SystemExit) as e:
        main(["keys", "show", "--identity", "bob@example.com"])
    assert e.value.code == 1
