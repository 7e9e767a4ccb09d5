"""First run: who you are, where your key lives, and which queue you review.

The key is made in the OS keyring by default (or found there if it exists), or in a key
file the reviewer picks. Its public line and fingerprint are shown at once, because the
security team has to put them in the policy before any decision can count. The demo
workspace is one click away for people who only want to look around.
"""

from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from app import theme
from app.demo import build_demo
from app.settings import AppPaths, Settings
from app.views.widgets import PlainValue, heading, plain_label
from app.workers import TaskRunner
from core.cli.keys import NAMESPACES
from core.errors import FoureyesError, InvalidData
from core.formats.fields import human
from core.signing import PublicKey, allowed_signers_line, key_source

LOOPBACK_HTTP = re.compile(r"^http://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(/|$)")


def identity_problem(value: str) -> str:
    """The usual identity mistakes, in plain words ("" when none of them applies)."""
    if not value:
        return "Type your identity: the email-style name the policy lists you under."
    if any(ch.isspace() for ch in value):
        return "Your identity cannot contain spaces; type it as name@domain."
    if value.startswith(("agent:", "gate:")):
        return ("That is an agent's or a gate's identity; reviewers are people "
                "(name@domain).")
    if "@" not in value:
        return (f"{value!r} is missing the domain: type it as name@domain, e.g. "
                f"{value.lower()}@example.com.")
    if value != value.lower():
        return (f"Identities are lowercase: type {value.lower()!r}, exactly as the policy "
                "lists you.")
    if value.count("@") > 1 or value.endswith("@") or value.startswith("@"):
        return "Type your identity as one name@domain, e.g. bob@example.com."
    if not value.isascii():
        return ("Your identity must be plain ASCII letters, digits and . _ - (no accents or "
                "look-alike letters).")
    return ""


def find_or_create_key(identity: str, key_file: Path | None) -> tuple[PublicKey, bool]:
    """Worker side: the existing key for ``identity``, or a new one; (key, created)."""
    source = key_source(key_file)
    if source.exists(identity):
        return source.public_key(identity), False
    return source.create(identity), True


class FirstRunDialog(QDialog):
    def __init__(self, paths: AppPaths, runner: TaskRunner, current: Settings | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.paths = paths
        self.runner = runner
        self.settings: Settings | None = None
        self.key: PublicKey | None = None
        self.setWindowTitle("Set up Foureyes")
        self.setAccessibleName("Set up Foureyes")
        current = current or Settings()

        layout = QVBoxLayout(self)
        layout.addWidget(heading("Set up this computer for reviewing"))

        who = QGroupBox("1. Who you are")
        form = QFormLayout(who)
        self.identity = QLineEdit(current.identity)
        self.identity.setPlaceholderText("you@example.com (lowercase, as in the policy)")
        self.identity.setAccessibleName("Your identity")
        form.addRow(plain_label("Identity", wrap=False), self.identity)
        layout.addWidget(who)

        key_box = QGroupBox("2. Your signing key")
        key_layout = QVBoxLayout(key_box)
        self.use_keyring = QRadioButton("In the OS keyring (recommended)")
        self.use_keyring.setAccessibleName("Keep the key in the OS keyring")
        self.use_file = QRadioButton("In a key file")
        self.use_file.setAccessibleName("Keep the key in a key file")
        group = QButtonGroup(self)
        group.addButton(self.use_keyring)
        group.addButton(self.use_file)
        (self.use_file if current.key_file else self.use_keyring).setChecked(True)
        file_row = QHBoxLayout()
        self.key_file = QLineEdit(current.key_file)
        self.key_file.setAccessibleName("Key file path")
        self.key_file.setPlaceholderText("a private file, e.g. on an encrypted disk")
        self.browse_key = QPushButton("Browse…")
        self.browse_key.setAccessibleName("Choose the key file")
        self.browse_key.clicked.connect(self._browse_key)
        file_row.addWidget(self.key_file, 1)
        file_row.addWidget(self.browse_key)
        self.key_button = QPushButton("Find or &create my key")
        self.key_button.setAccessibleName("Find or create my signing key")
        self.key_button.clicked.connect(self.find_key)
        self.key_line = PlainValue(name="Your public key line", mono=True)
        self.key_status = plain_label(name="Key status")
        self.copy_button = QPushButton("Copy line for the security team")
        self.copy_button.setAccessibleName("Copy the allowed_signers line")
        self.copy_button.setEnabled(False)
        self.copy_button.clicked.connect(self._copy)
        key_layout.addWidget(self.use_keyring)
        key_layout.addWidget(self.use_file)
        key_layout.addLayout(file_row)
        key_layout.addWidget(self.key_button)
        key_layout.addWidget(self.key_status)
        key_layout.addWidget(self.key_line)
        key_layout.addWidget(self.copy_button)
        layout.addWidget(key_box)

        queue_box = QGroupBox("3. The queue you review")
        queue_layout = QFormLayout(queue_box)
        self.use_server = QRadioButton("A Foureyes server")
        self.use_server.setAccessibleName("Connect to a server")
        self.use_folder = QRadioButton("A shared folder or USB stick")
        self.use_folder.setAccessibleName("Use a shared folder")
        qgroup = QButtonGroup(self)
        qgroup.addButton(self.use_server)
        qgroup.addButton(self.use_folder)
        (self.use_folder if current.transport == "folder" else self.use_server).setChecked(True)
        self.server_url = QLineEdit(current.server_url)
        self.server_url.setPlaceholderText("https://foureyes.example.com")
        self.server_url.setAccessibleName("Server URL")
        self.token = QLineEdit(current.token)
        self.token.setPlaceholderText("optional: only if your operator gave you a token")
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setAccessibleName("Server token (optional)")
        folder_row = QHBoxLayout()
        self.folder = QLineEdit(current.folder)
        self.folder.setAccessibleName("Shared folder path")
        self.browse_folder = QPushButton("Browse…")
        self.browse_folder.setAccessibleName("Choose the shared folder")
        self.browse_folder.clicked.connect(self._browse_folder)
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(self.browse_folder)
        queue_layout.addRow(self.use_server)
        queue_layout.addRow(plain_label("URL", wrap=False), self.server_url)
        queue_layout.addRow(plain_label("Token", wrap=False), self.token)
        queue_layout.addRow(self.use_folder)
        queue_layout.addRow(plain_label("Folder", wrap=False), folder_row)
        layout.addWidget(queue_box)

        self.error = plain_label(name="Set-up problem")
        self.error.hide()
        layout.addWidget(self.error)

        buttons = QHBoxLayout()
        self.demo_button = QPushButton("Open the &demo workspace")
        self.demo_button.setAccessibleName("Open the demo workspace")
        self.demo_button.clicked.connect(self.open_demo)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setAccessibleName("Cancel set-up")
        self.cancel_button.clicked.connect(self.reject)
        self.start_button = QPushButton("&Start reviewing")
        self.start_button.setAccessibleName("Save and start reviewing")
        self.start_button.setDefault(True)
        self.start_button.clicked.connect(self.finish)
        buttons.addWidget(self.demo_button)
        buttons.addStretch(1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.start_button)
        layout.addLayout(buttons)

        for w in (self.use_keyring, self.use_file, self.use_server, self.use_folder):
            w.toggled.connect(self._update)
        self.identity.textChanged.connect(self._forget_key)
        self.key_file.textChanged.connect(self._forget_key)
        self.use_file.toggled.connect(self._forget_key)
        self._update()

    # -- helpers

    def _show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setAccessibleName(text or "Set-up problem")
        self.error.setStyleSheet(f"color: {theme.current().bad};")
        self.error.setVisible(bool(text))

    def _update(self) -> None:
        self.key_file.setEnabled(self.use_file.isChecked())
        self.browse_key.setEnabled(self.use_file.isChecked())
        server = self.use_server.isChecked()
        self.server_url.setEnabled(server)
        self.token.setEnabled(server)
        self.folder.setEnabled(not server)
        self.browse_folder.setEnabled(not server)

    def _forget_key(self) -> None:
        self.key = None
        self.key_line.set_text("")
        self.key_status.setText("")
        self.copy_button.setEnabled(False)

    def _key_path(self) -> Path | None:
        return Path(self.key_file.text().strip()) if self.use_file.isChecked() else None

    def _identity(self) -> str:
        value = self.identity.text().strip()
        problem = identity_problem(value)
        if problem:
            raise InvalidData("identity", problem)
        human(value, "identity")  # the format's own check, after the friendly ones
        return value

    def _browse_key(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Key file", self.key_file.text(),
                                              options=QFileDialog.Option.DontConfirmOverwrite)
        if path:
            self.key_file.setText(path)

    def _browse_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Shared folder", self.folder.text())
        if path:
            self.folder.setText(path)

    def _copy(self) -> None:
        if self.key is not None:
            QGuiApplication.clipboard().setText(
                allowed_signers_line(self.identity.text().strip(), self.key, NAMESPACES))

    # -- actions

    def find_key(self) -> None:
        try:
            identity = self._identity()
        except InvalidData as e:
            self._show_error(f"Identity: {e.message}")
            return
        if self.use_file.isChecked() and not self.key_file.text().strip():
            self._show_error("Choose where the key file goes.")
            return
        key_path = self._key_path()
        self._show_error("")
        self.key_button.setEnabled(False)
        self.runner.run(lambda: find_or_create_key(identity, key_path), self._got_key,
                        self._key_failed)

    def _got_key(self, result: tuple[PublicKey, bool]) -> None:
        key, created = result
        self.key_button.setEnabled(True)
        self.key = key
        identity = self.identity.text().strip()
        self.key_status.setText(("Created a new key. " if created else "Found your key. ")
                                + f"Fingerprint {key.fingerprint}. Hand this line to your "
                                "security team so the policy lists you:")
        self.key_line.set_text(allowed_signers_line(identity, key, NAMESPACES))
        self.copy_button.setEnabled(True)

    def _key_failed(self, error: object) -> None:
        self.key_button.setEnabled(True)
        text = error.message if isinstance(error, FoureyesError) else repr(error)
        self._show_error(f"Key: {text}")

    def collect(self) -> Settings:
        """The settings the form describes; InvalidData names the first problem."""
        identity = self._identity()
        if self.key is None:
            raise InvalidData("no_key", "find or create your key first (step 2)")
        s = Settings(identity=identity, key_file=str(self._key_path() or ""))
        if self.use_server.isChecked():
            url = self.server_url.text().strip()
            if not url.startswith("https://") and not LOOPBACK_HTTP.match(url):
                raise InvalidData("settings", "the server URL must start with https:// (plain "
                                  "http only to this computer, e.g. http://127.0.0.1:8700)")
            s.transport, s.server_url, s.token = "server", url, self.token.text().strip()
        else:
            folder = self.folder.text().strip()
            if not folder or not (Path(folder) / "policy.toml").is_file():
                raise InvalidData("settings", "the shared folder must hold a policy.toml (is "
                                  "the share or stick mounted?)")
            s.transport, s.folder = "folder", folder
        return s

    def finish(self) -> None:
        try:
            self.settings = self.collect()
        except InvalidData as e:
            self._show_error(e.message)
            return
        self.accept()

    def open_demo(self) -> None:
        self._show_error("")
        self.demo_button.setEnabled(False)
        self.key_status.setText("Building the demo workspace…")
        paths = self.paths
        self.runner.run(lambda: build_demo(paths), self._demo_ready, self._demo_failed)

    def _demo_ready(self, settings: Settings) -> None:
        self.settings = settings
        self.accept()

    def _demo_failed(self, error: object) -> None:
        self.demo_button.setEnabled(True)
        text = error.message if isinstance(error, FoureyesError) else repr(error)
        self._show_error(f"The demo could not be built: {text}")
