"""The reviewer's own key: what to hand the security team, and rotation.

Only public parts are shown or exported: the OpenSSH public line, its fingerprint and the
allowed_signers line. The seed stays in the OS keyring (or the key file the reviewer chose);
this view never reads it, it only asks the key source to make, rotate or drop keys, on a
worker because a keyring call can block on D-Bus.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app import theme
from app.views.widgets import PlainValue, heading, plain_label
from app.workers import TaskRunner
from core.cli.keys import NAMESPACES
from core.errors import FoureyesError
from core.policy import Policy
from core.signing import KeySource, PublicKey, allowed_signers_line


@dataclass(frozen=True)
class KeyState:
    current: PublicKey | None
    previous: PublicKey | None
    where: str


def read_state(source: KeySource, identity: str) -> KeyState:
    """Worker side: public keys only."""
    if not source.exists(identity):
        return KeyState(None, None, source.describe())
    return KeyState(source.public_key(identity), source.previous_public_key(identity),
                    source.describe())


def roster_text(policy: Policy | None, identity: str, key: PublicKey | None) -> str:
    if policy is None:
        return "The queue's policy is not loaded yet."
    approver = policy.approver(identity)
    if approver is None:
        return (f"{identity} is not an approver in policy {policy.name!r} yet: hand the "
                "allowed_signers line to your security team.")
    if key is not None and approver.key != key:
        return (f"Policy {policy.name!r} lists another key for {identity} "
                f"({approver.key.fingerprint}). Until it lists this one, your decisions will "
                "be refused.")
    groups = ", ".join(approver.groups) or "no groups"
    return f"This key is your approver key in policy {policy.name!r} ({groups})."


def roster_problem(policy: Policy | None, identity: str, key: PublicKey | None) -> str:
    """A plain sentence when this reviewer's decisions cannot count, else ""."""
    if policy is None or not identity:
        return ""
    approver = policy.approver(identity)
    if approver is None:
        return (f"You ({identity}) are not in the reviewer list of policy {policy.name!r}, so "
                "you cannot decide anything yet. Send this line to your security team and ask "
                "them to add it to the policy:")
    if key is not None and approver.key != key:
        return (f"Policy {policy.name!r} lists another key for {identity} "
                f"({approver.key.fingerprint}), so your decisions would be refused. Send this "
                "line (your current key) to your security team:")
    return ""


class KeysView(QWidget):
    key_changed = Signal()
    rendered = Signal()  # the key state or the policy changed (the window updates its notice)

    def __init__(self, runner: TaskRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Keys")
        self.runner = runner
        self.source: KeySource | None = None
        self.identity = ""
        self.policy: Policy | None = None
        self.state: KeyState | None = None
        self.where = ""

        layout = QVBoxLayout(self)
        layout.addWidget(heading("Your signing key"))
        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.identity_value = PlainValue(name="Identity")
        self.where_value = PlainValue(name="Key storage")
        self.fingerprint_value = PlainValue(name="Fingerprint", mono=True)
        self.public_value = PlainValue(name="Public key", mono=True)
        self.allowed_value = PlainValue(name="allowed_signers line", mono=True)
        self.previous_value = PlainValue(name="Previous key")
        for caption, widget in (("Identity", self.identity_value),
                                ("Stored in", self.where_value),
                                ("Fingerprint", self.fingerprint_value),
                                ("Public key", self.public_value),
                                ("allowed_signers line", self.allowed_value),
                                ("Previous key", self.previous_value)):
            form.addRow(plain_label(caption, wrap=False), widget)
        layout.addLayout(form)
        self.roster = plain_label(name="Roster status")
        layout.addWidget(self.roster)
        self.error = plain_label(name="Key problem")
        self.error.hide()
        layout.addWidget(self.error)

        bar = QHBoxLayout()
        self.copy_button = QPushButton("&Copy allowed_signers line")
        self.copy_button.setAccessibleName("Copy the allowed_signers line")
        self.copy_button.clicked.connect(self.copy_line)
        self.export_button = QPushButton("E&xport…")
        self.export_button.setAccessibleName("Export the allowed_signers line to a file")
        self.export_button.clicked.connect(self.choose_export)
        self.create_button = QPushButton("Create &key")
        self.create_button.setAccessibleName("Create a signing key")
        self.create_button.clicked.connect(self.create_key)
        self.rotate_button = QPushButton("&Rotate key…")
        self.rotate_button.setAccessibleName("Rotate the signing key")
        self.rotate_button.clicked.connect(self.confirm_rotate)
        self.remove_button = QPushButton("Remove &previous key…")
        self.remove_button.setAccessibleName("Remove the previous signing key")
        self.remove_button.clicked.connect(self.confirm_remove)
        for b in (self.copy_button, self.export_button, self.create_button, self.rotate_button,
                  self.remove_button):
            bar.addWidget(b)
        bar.addStretch(1)
        layout.addLayout(bar)
        layout.addWidget(plain_label(
            "Rotating makes a new key and keeps the old one until you remove it. Decisions "
            "signed with the new key count only once the policy lists it, so hand the new line "
            "to your security team first.", name="About rotation"))
        layout.addStretch(1)
        self._render()

    # -- state

    def set_source(self, source: KeySource | None, identity: str, where: str = "") -> None:
        """``where``: how to name the key's home instead of the source's own description."""
        self.source, self.identity, self.where = source, identity, where
        self.refresh()

    def set_policy(self, policy: Policy | None) -> None:
        self.policy = policy
        self._render()

    def refresh(self) -> None:
        if self.source is None or not self.identity:
            self.state = None
            self._render()
            return
        source, identity = self.source, self.identity
        self.runner.run(lambda: read_state(source, identity), self._got, self._failed)

    def _got(self, state: KeyState) -> None:
        self.state = state
        self._show_error("")
        self._render()

    def _failed(self, error: object) -> None:
        text = error.message if isinstance(error, FoureyesError) else repr(error)
        self._show_error(text)
        self._render()

    def _show_error(self, text: str) -> None:
        self.error.setText(text)
        self.error.setAccessibleName(text or "Key problem")
        self.error.setStyleSheet(f"color: {theme.current().bad};")
        self.error.setVisible(bool(text))

    def line(self) -> str:
        if self.state is None or self.state.current is None:
            return ""
        return allowed_signers_line(self.identity, self.state.current, NAMESPACES)

    def _render(self) -> None:
        s = self.state
        key = s.current if s else None
        self.identity_value.set_text(self.identity or "not chosen")
        self.where_value.set_text((self.where or s.where) if s else "")
        self.fingerprint_value.set_text(key.fingerprint if key else "no key yet")
        self.public_value.set_text(key.openssh() if key else "")
        self.allowed_value.set_text(self.line())
        self.previous_value.set_text(
            f"{s.previous.fingerprint} (kept until you remove it)" if s and s.previous
            else "none")
        text = roster_text(self.policy, self.identity, key) if self.identity else ""
        self.rendered.emit()
        self.roster.setText(text)
        self.roster.setAccessibleName(text or "Roster status")
        has_key = key is not None
        self.copy_button.setEnabled(has_key)
        self.export_button.setEnabled(has_key)
        self.rotate_button.setEnabled(has_key and not (s and s.previous))
        self.remove_button.setEnabled(bool(s and s.previous))
        self.create_button.setVisible(s is not None and not has_key)

    # -- actions

    def copy_line(self) -> None:
        if self.line():
            QGuiApplication.clipboard().setText(self.line())

    def choose_export(self) -> None:
        if not self.line():
            return
        name = self.identity.split("@")[0] + ".allowed_signers"
        path, _ = QFileDialog.getSaveFileName(self, "Export allowed_signers line", name,
                                              "allowed_signers (*.allowed_signers *.txt);;"
                                              "All files (*)")
        if path:
            self.export(Path(path))

    def export(self, path: Path) -> None:
        try:
            path.write_text(self.line() + "\n", encoding="utf-8")
        except OSError as e:
            self._show_error(f"Cannot write {path}: {e.strerror}")

    def _run(self, op: str) -> None:
        if self.source is None:
            return
        source, identity = self.source, self.identity

        def work() -> KeyState:
            if op == "create":
                source.create(identity)
            elif op == "rotate":
                source.rotate(identity)
            elif op == "remove":
                source.remove_previous(identity)
            return read_state(source, identity)

        def done(state: KeyState) -> None:
            self._got(state)
            self.key_changed.emit()

        self.runner.run(work, done, self._failed)

    def create_key(self) -> None:
        self._run("create")

    def rotate(self) -> None:
        self._run("rotate")

    def remove_previous(self) -> None:
        self._run("remove")

    def confirm_rotate(self) -> None:
        answer = QMessageBox.question(
            self, "Rotate your key?",
            "Make a new signing key now? The old key is kept until you remove it. Your "
            "decisions count again only after the policy lists the new key.")
        if answer == QMessageBox.StandardButton.Yes:
            self.rotate()

    def confirm_remove(self) -> None:
        answer = QMessageBox.question(
            self, "Remove the previous key?",
            "Delete the previous key for good? Do this once the policy no longer lists it.")
        if answer == QMessageBox.StandardButton.Yes:
            self.remove_previous()
