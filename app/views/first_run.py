"""First run: who you are, where your key lives, which queue you review."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
)

from app.settings import Settings
from app.views.common import add_row, heading, plain_label
from core.errors import FoureyesError
from core.formats.fields import human
from core.signing import key_source


class FirstRunDialog(QDialog):
    def __init__(self, settings: Settings, parent=None) -> None:  # noqa: ANN001
        super().__init__(parent)
        self.settings = settings
        self.demo_requested = False
        self.setWindowTitle("Set up Foureyes")
        self.setAccessibleName("First run")
        layout = QVBoxLayout(self)
        layout.addWidget(heading("Who are you, and which queue do you review?"))
        form = QFormLayout()
        self.identity = QLineEdit(settings.identity)
        self.identity.setAccessibleName("Identity")
        self.identity.setPlaceholderText("you@example.com")
        self.use_file = QCheckBox("Keep my key in a file instead of the OS keyring")
        self.use_file.setAccessibleName("Use a key file")
        self.key_file = QLineEdit(settings.key_file)
        self.key_file.setAccessibleName("Key file path")
        self.use_file.setChecked(bool(settings.key_file))
        self.server = QLineEdit(settings.server)
        self.server.setAccessibleName("Server URL")
        self.server.setPlaceholderText("https://queue.example.com")
        self.folder = QLineEdit(settings.folder)
        self.folder.setAccessibleName("Shared folder")
        self.folder.setPlaceholderText("/media/usb/foureyes")
        browse = QPushButton("Browse…")
        browse.setAccessibleName("Browse for shared folder")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.folder)
        row.addWidget(browse)
        add_row(form, "Identity", self.identity)
        add_row(form, "", self.use_file)
        add_row(form, "Key file", self.key_file)
        add_row(form, "Server URL", self.server)
        add_row(form, "or shared folder", row)
        layout.addLayout(form)
        keys = QHBoxLayout()
        self.create_key = QPushButton("Create my key")
        self.create_key.setAccessibleName("Create my key")
        self.create_key.clicked.connect(self.make_key)
        self.demo = QPushButton("Open the demo workspace")
        self.demo.setAccessibleName("Open the demo workspace")
        self.demo.clicked.connect(self._demo)
        keys.addWidget(self.create_key)
        keys.addWidget(self.demo)
        keys.addStretch()
        layout.addLayout(keys)
        self.public = plain_label("", "Your public key")
        layout.addWidget(self.public)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                   | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Shared folder")
        if path:
            self.folder.setText(path)

    def _source(self):  # noqa: ANN202
        from pathlib import Path

        return key_source(Path(self.key_file.text()) if self.use_file.isChecked() and
                          self.key_file.text() else None)

    def make_key(self) -> None:
        try:
            who = human(self.identity.text(), "identity")
            source = self._source()
            key = source.public_key(who) if source.exists(who) else source.create(who)
        except FoureyesError as e:
            self.public.setText(e.message)
            return
        self.public.setText(f"Hand this to your security team:\n{key.openssh()}\n"
                            f"{key.fingerprint}")

    def _demo(self) -> None:
        self.demo_requested = True
        self.accept()

    def _accept(self) -> None:
        try:
            human(self.identity.text(), "identity")
        except FoureyesError as e:
            self.public.setText(e.message)
            return
        if not (self.server.text() or self.folder.text()):
            self.public.setText("Give a server URL or a shared folder.")
            return
        self.settings.identity = self.identity.text()
        self.settings.key_file = self.key_file.text() if self.use_file.isChecked() else ""
        self.settings.server = self.server.text()
        self.settings.folder = self.folder.text() if not self.server.text() else ""
        self.accept()
