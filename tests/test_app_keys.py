# ruff: noqa: F811 - pytest fixtures are imported by name
"""Keys view over a key file, first run (identity, key, queue; settings persisted under the
test's own home), the one-click demo workspace, accessible names and both palettes."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from PySide6.QtGui import QGuiApplication, QPalette
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QApplication,
    QHeaderView,
    QLineEdit,
    QPlainTextEdit,
    QWidget,
)

from app import theme
from app.settings import Settings
from app.views.first_run import FirstRunDialog
from app.views.keys_view import KeysView
from app.workers import TaskRunner
from core.sample import SampleWorld
from core.signing import FileKeySource, KeyringKeySource, PublicKey
from tests.app_fixtures import (
    BOB,
    QT_STRICT,
    WAIT_MS,
    app_paths,  # noqa: F401
    folder_world,  # noqa: F401
    window_factory,  # noqa: F401
)

pytestmark = QT_STRICT


def _keys_view(qtbot, source, identity: str) -> KeysView:  # noqa: ANN001
    runner = TaskRunner()
    view = KeysView(runner)
    runner.setParent(view)
    qtbot.addWidget(view)
    view.show()
    view.set_source(source, identity)
    qtbot.waitUntil(lambda: view.state is not None, timeout=WAIT_MS)
    return view


def test_keys_view_with_a_key_file(qtbot, tmp_path: Path) -> None:
    world = SampleWorld.create()
    source = FileKeySource(tmp_path / "bob.key")
    source.import_signer(BOB, world.signer(BOB))
    view = _keys_view(qtbot, source, BOB)
    key = world.key(BOB)
    assert view.fingerprint_value.text() == key.fingerprint
    assert view.public_value.text() == key.openssh()
    line = view.allowed_value.text()
    assert line == (f'{BOB} namespaces="foureyes-decision-v1,foureyes-login-v1" '
                    f"{key.openssh()}")
    assert str(tmp_path / "bob.key") in view.where_value.text()
    view.copy_button.click()
    assert QGuiApplication.clipboard().text() == line
    view.export(tmp_path / "bob.allowed_signers")
    assert (tmp_path / "bob.allowed_signers").read_text() == line + "\n"

    view.rotate()
    qtbot.waitUntil(lambda: view.fingerprint_value.text() != key.fingerprint, timeout=WAIT_MS)
    new = source.public_key(BOB)
    assert view.fingerprint_value.text() == new.fingerprint != key.fingerprint
    assert view.previous_value.text().startswith(key.fingerprint)
    assert source.previous_public_key(BOB) == key
    assert not view.rotate_button.isEnabled() and view.remove_button.isEnabled()
    view.remove_previous()
    qtbot.waitUntil(lambda: view.previous_value.text() == "none", timeout=WAIT_MS)
    assert source.previous_public_key(BOB) is None
    # Nothing secret is anywhere in the view: only public lines.
    seed = world.signer(BOB).seed_bytes().hex()
    texts = [w.toPlainText() for w in view.findChildren(QPlainTextEdit)]
    assert all(seed not in t for t in texts)


def test_keys_view_says_when_the_policy_lists_another_key(qtbot, tmp_path: Path) -> None:
    world = SampleWorld.create()
    source = FileKeySource(tmp_path / "bob.key")
    source.create(BOB)  # a fresh key the policy does not list
    view = _keys_view(qtbot, source, BOB)
    from core.policy import Policy

    view.set_policy(Policy.from_bytes(world.policy_bytes()))
    assert "lists another key" in view.roster.text()


def test_first_run_creates_a_key_file_and_saves_settings(qtbot, app_paths, folder_world,
                                                         tmp_path: Path) -> None:
    runner = TaskRunner()
    dialog = FirstRunDialog(app_paths, runner)
    runner.setParent(dialog)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.identity.setText("Bob@Example.com")
    dialog.key_button.click()
    assert "lowercase" in dialog.error.text() or "identity" in dialog.error.text().lower()
    dialog.identity.setText("erin@example.com")
    dialog.use_file.setChecked(True)
    key_path = tmp_path / "erin.key"
    dialog.key_file.setText(str(key_path))
    dialog.key_button.click()
    qtbot.waitUntil(lambda: dialog.key is not None, timeout=WAIT_MS)
    assert key_path.exists()
    assert dialog.key_line.text().startswith('erin@example.com namespaces="foureyes-decision-v1')
    assert dialog.key.fingerprint in dialog.key_status.text()
    assert PublicKey.from_openssh(dialog.key_line.text().split(" ", 2)[2]) == dialog.key

    dialog.use_server.setChecked(True)
    dialog.server_url.setText("http://example.com")  # plain http off this machine: refused
    dialog.start_button.click()
    assert "https://" in dialog.error.text() and dialog.settings is None
    dialog.use_folder.setChecked(True)
    dialog.folder.setText(str(folder_world.root))
    dialog.start_button.click()
    assert dialog.settings is not None
    dialog.settings.save(app_paths)
    saved = Settings.load(app_paths)
    assert (saved.identity, saved.key_file, saved.transport, saved.folder) == (
        "erin@example.com", str(key_path), "folder", str(folder_world.root))
    assert app_paths.settings_file.stat().st_mode & 0o077 == 0
    assert str(app_paths.settings_file).startswith(str(tmp_path))


def test_demo_workspace_opens_in_one_click(qtbot, app_paths) -> None:
    runner = TaskRunner()
    dialog = FirstRunDialog(app_paths, runner)
    runner.setParent(dialog)
    qtbot.addWidget(dialog)
    dialog.show()
    with qtbot.waitSignal(dialog.accepted, timeout=WAIT_MS):
        dialog.demo_button.click()
    s = dialog.settings
    assert s.demo and s.identity == BOB and s.transport == "folder"
    assert Path(s.key_file).is_file() and Path(s.key_file).is_relative_to(app_paths.data_dir)
    assert (Path(s.folder) / "policy.toml").is_file() and Path(s.trust_file).is_file()


def test_every_control_has_an_accessible_name_and_palettes_differ(qtbot, folder_world,
                                                                  window_factory) -> None:
    folder_world.submit(title="Anything")
    window = window_factory(folder_world.settings(), rows=1)
    window.queue_view.step(1)
    qtbot.waitUntil(lambda: window.card.view is not None, timeout=WAIT_MS)
    window.decide("reject")
    qtbot.waitUntil(lambda: window.dialog is not None, timeout=WAIT_MS)
    controls = (QAbstractButton, QLineEdit, QPlainTextEdit, QAbstractItemView)
    for top in (window, window.dialog):
        for w in top.findChildren(QWidget):
            if not isinstance(w, controls) or isinstance(w, QHeaderView) \
                    or w.objectName().startswith("qt_") or not w.isVisibleTo(top):
                continue  # Qt's own internals (scroll buttons, clear buttons) are named by Qt
            assert w.accessibleName(), f"{type(w).__name__} {getattr(w, 'text', str)()}"
    window.dialog.reject()

    app = QApplication.instance()
    light = theme.apply(app, "light")
    light_window = app.palette().color(QPalette.ColorRole.Window).lightness()
    dark = theme.apply(app, "dark")
    dark_window = app.palette().color(QPalette.ColorRole.Window).lightness()
    assert light is theme.LIGHT and dark is theme.DARK and light_window > 200 > 60 > dark_window
    theme.apply(app, "light")


@pytest.mark.keyring
def test_first_run_makes_the_key_in_the_os_keyring(qtbot, app_paths) -> None:
    if os.environ.get("FOUREYES_TEST_KEYRING") != "1":
        pytest.skip("needs scripts/test.sh (a real, throwaway Secret Service)")
    who = f"k{uuid.uuid4().hex[:8]}@example.com"
    runner = TaskRunner()
    dialog = FirstRunDialog(app_paths, runner)
    runner.setParent(dialog)
    qtbot.addWidget(dialog)
    try:
        dialog.identity.setText(who)
        assert dialog.use_keyring.isChecked()  # the default
        dialog.key_button.click()
        qtbot.waitUntil(lambda: dialog.key is not None, timeout=WAIT_MS)
        assert dialog.key == KeyringKeySource().public_key(who)
        assert "Created a new key" in dialog.key_status.text()
        dialog._forget_key()
        dialog.key_button.click()  # a second run finds the same key, never overwrites it
        qtbot.waitUntil(lambda: dialog.key is not None, timeout=WAIT_MS)
        assert "Found your key" in dialog.key_status.text()
        assert dialog.key == KeyringKeySource().public_key(who)
    finally:
        KeyringKeySource().delete(who)
