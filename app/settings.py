"""Per-user settings and paths.

Paths come from platformdirs so the app behaves like any other desktop program; setting
FOUREYES_APP_HOME (tests, screenshots, portable use on a USB stick) puts config, data and
cache under one directory instead, so a test never touches the real user's files.
The settings file is JSON written atomically with mode 0600: it may hold a server token.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import platformdirs

from app.display import MIN_REASON_CHARS, MIN_REASON_WORDS
from core.errors import InvalidData, TransportError

APP_NAME = "foureyes"
HOME_ENV = "FOUREYES_APP_HOME"
SETTINGS_FILE = "app-settings.json"
MAX_SETTINGS_BYTES = 256 * 1024
TRANSPORTS = ("", "server", "folder")
THEMES = ("system", "light", "dark")
DEFAULT_SYNC_SECONDS = 30
INT_KEYS = ("sync_seconds", "min_reason_chars", "min_reason_words")
MAX_REASON_MINIMUM = 2000  # a minimum above this would make deciding impossible


@dataclass(frozen=True)
class AppPaths:
    config_dir: Path
    data_dir: Path
    cache_dir: Path
    state_dir: Path  # own decisions on a folder queue; the same place the CLI uses

    @classmethod
    def default(cls) -> AppPaths:
        home = os.environ.get(HOME_ENV)
        if home:
            return cls.under(Path(home))
        return cls(Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
                   Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
                   Path(platformdirs.user_cache_dir(APP_NAME, appauthor=False)),
                   Path(platformdirs.user_state_dir(APP_NAME, appauthor=False)))

    @classmethod
    def under(cls, root: Path) -> AppPaths:
        root = Path(root)
        return cls(root / "config", root / "data", root / "cache", root / "state")

    @property
    def settings_file(self) -> Path:
        return self.config_dir / SETTINGS_FILE

    @property
    def demo_dir(self) -> Path:
        return self.data_dir / "demo"


@dataclass
class Settings:
    """What the reviewer chose on first run; empty strings mean "not chosen yet"."""

    identity: str = ""
    key_file: str = ""  # empty: the key lives in the OS keyring
    transport: str = ""  # "server" or "folder"
    server_url: str = ""
    token: str = ""
    folder: str = ""
    trust_file: str = ""
    theme: str = "system"
    sync_seconds: int = DEFAULT_SYNC_SECONDS
    demo: bool = False
    # Raise-only: a value below the app's own minimum is read as the minimum.
    min_reason_chars: int = MIN_REASON_CHARS
    min_reason_words: int = MIN_REASON_WORDS

    @property
    def complete(self) -> bool:
        """Enough to open the queue: who I am and where the queue lives."""
        if not self.identity or self.transport not in ("server", "folder"):
            return False
        return bool(self.server_url if self.transport == "server" else self.folder)

    @property
    def key_path(self) -> Path | None:
        return Path(self.key_file) if self.key_file else None

    @property
    def source(self) -> str:
        """Where the queue lives, as one string (names the offline cache)."""
        return self.server_url if self.transport == "server" else self.folder

    @classmethod
    def load(cls, paths: AppPaths) -> Settings:
        path = paths.settings_file
        if not path.exists():
            return cls()
        try:
            data = path.read_bytes()
        except OSError as e:
            raise TransportError("settings", f"cannot read {path}: {e.strerror}") from e
        if len(data) > MAX_SETTINGS_BYTES:
            raise InvalidData("settings", f"{path} is too large to be a settings file")
        try:
            obj = json.loads(data)
        except ValueError as e:
            raise InvalidData("settings", f"{path} is not valid JSON; fix or delete it") from e
        if not isinstance(obj, dict):
            raise InvalidData("settings", f"{path} must hold a JSON object")
        known = {f.name: f for f in fields(cls)}
        values = {}
        for key, value in obj.items():
            if key not in known:
                continue  # written by a newer version: keep going rather than refuse to start
            expected = int if key in INT_KEYS else bool if key == "demo" else str
            if type(value) is not expected:
                raise InvalidData("settings", f"{path}: {key!r} must be a {expected.__name__}")
            values[key] = value
        settings = cls(**values)
        if settings.transport not in TRANSPORTS:
            settings.transport = ""
        if settings.theme not in THEMES:
            settings.theme = "system"
        settings.sync_seconds = max(5, min(settings.sync_seconds, 3600))
        settings.min_reason_chars = max(MIN_REASON_CHARS, min(settings.min_reason_chars,
                                                              MAX_REASON_MINIMUM))
        settings.min_reason_words = max(MIN_REASON_WORDS, min(settings.min_reason_words,
                                                              MAX_REASON_MINIMUM))
        return settings

    def save(self, paths: AppPaths) -> None:
        path = paths.settings_file
        path.parent.mkdir(parents=True, exist_ok=True)
        data = json.dumps(asdict(self), indent=2, sort_keys=True).encode()
        fd, tmp = tempfile.mkstemp(prefix=".settings-", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.chmod(tmp, 0o600)
            os.replace(tmp, path)
        except OSError as e:
            Path(tmp).unlink(missing_ok=True)
            raise TransportError("settings", f"cannot write {path}: {e.strerror}") from e
