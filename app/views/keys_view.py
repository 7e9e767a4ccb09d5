"""Your key: identity, fingerprint, the allowed_signers line to hand over, rotation.
The seed never leaves the key store; this view only ever sees the public key."""

from __future__ import annotations

from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.views.common import add_row, heading, plain_label
from core.errors import FoureyesError
from core.signing import KeySource, allowed_signers_line

NAMESPACES = ("foureyes-decision-v1", "foureyes-login-v1")


class KeysView(QWidget):
    def __init__(self) -> None:
        super().__init__()
        self.setAccessibleName("Keys view")
        self.source: KeySource | None = None
        self.identity = ""
        layout = QVBoxLayout(self)
        layout.addWidget(heading("Your signing key"))
        form = QFormLayout()
        self.identity_label = plain_label("", "Identity")
        self.where = plain_label("", "Key store")
        self.fingerprint = plain_label("", "Fingerprint")
        self.line = QLineEdit()
        self.line.setReadOnly(True)
        self.line.setAccessibleName("allowed_signers line")
        self.previous = plain_label("", "Previous key")
        add_row(form, "Identity", self.identity_label)
        add_row(form, "Kept in", self.where)
        add_row(form, "Fingerprint", self.fingerprint)
        add_row(form, "allowed_signers", self.line)
        add_row(form, "Previous key", self.previous)
        layout.addLayout(form)
        bar = QHBoxLayout()
        self.copy_button = QPushButton("Copy allowed_signers line")
        self.copy_button.setAccessibleName("Copy allowed_signers line")
        self.copy_button.clicked.connect(self.copy_line)
        self.rotate_button = QPushButton("Rotate key…")
        self.rotate_button.setAccessibleName("Rotate key")
        self.rotate_button.clicked.connect(self.confirm_rotate)
        self.remove_button = QPushButton("Remove previous key")
        self.remove_button.setAccessibleName("Remove previous key")
        self.remove_button.clicked.connect(self.remove_previous)
        for b in (self.copy_button, self.rotate_button, self.remove_button):
            bar.addWidget(b)
        bar.addStretch()
        layout.addLayout(bar)
        self.message = plain_label("", "Keys message")
        layout.addWidget(self.message)
        layout.addStretch()

    def set_source(self, source: KeySource, identity: str) -> None:
        self.source, self.identity = source, identity
        self.refresh()

    def refresh(self) -> None:
        if self.source is None:
            return
        self.identity_label.setText(self.identity)
        self.where.setText(self.source.describe())
        try:
            key = self.source.public_key(self.identity)
            prev = self.source.previous_public_key(self.identity)
        except FoureyesError as e:
            self.message.setText(e.message)
            return
        self.fingerprint.setText(key.fingerprint)
        self.line.setText(allowed_signers_line(self.identity, key, NAMESPACES))
        self.previous.setText(prev.fingerprint if prev else "none")
        self.remove_button.setEnabled(prev is not None)

    def copy_line(self) -> None:
        QGuiApplication.clipboard().setText(self.line.text())
        self.message.setText("Copied. Hand it to your security team for the policy roster.")

    def confirm_rotate(self) -> None:
        answer = QMessageBox.question(self, "Rotate key", "Make a new key? Until the policy "
                                      "lists the new key, your decisions will not count.")
        if answer == QMessageBox.StandardButton.Yes:
            self.rotate()

    def rotate(self) -> None:
        try:
            key = self.source.rotate(self.identity)
        except FoureyesError as e:
            self.message.setText(e.message)
            return
        self.message.setText(f"New key {key.fingerprint}. The previous one is kept until you "
                             "remove it.")
        self.refresh()

    def remove_previous(self) -> None:
        self.source.remove_previous(self.identity)
        self.refresh()
