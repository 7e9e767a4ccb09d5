"""Per-user settings (platformdirs), written atomically as canonical JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import platformdirs

from core.queue.atomic import write_atomic


def config_dir() -> Path:
    return Path(platformdirs.user_config_dir("foureyes", appauthor=False))


def data_dir() -> Path:
    return Path(platformdirs.user_data_dir("foureyes", appauthor=False))


@dataclass
class Settings:
    identity: str = ""
    key_file: str = ""          # empty: the OS keyring
    server: str = ""
    folder: str = ""
    trust_file: str = ""
    theme: str = "light"
    extra: dict = field(default_factory=dict)

    @property
    def configured(self) -> bool:
        return bool(self.identity and (self.server or self.folder))

    @classmethod
    def load(cls, path: Path | None = None) -> Settings:
        path = path or config_dir() / "settings.json"
        try:
            obj = json.loads(path.read_text("utf-8"))
            known = {k: v for k, v in obj.items() if k in cls.__dataclass_fields__}
            return cls(**known)
        except (OSError, ValueError, TypeError):
            return cls()

    def save(self, path: Path | None = None) -> None:
        path = path or config_dir() / "settings.json"
        write_atomic(path, json.dumps(asdict(self), indent=2, sort_keys=True).encode())
