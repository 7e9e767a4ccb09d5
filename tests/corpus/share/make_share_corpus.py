"""Writes the hostile shared-folder inputs of tests/corpus/share (deterministic).

They need no keys: what a share writer with no roster key can plant. Links, FIFOs and
devices cannot live in git; tests/test_folder_hostile.py makes those at test time.
Run: python tests/corpus/share/make_share_corpus.py
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    files: dict[str, bytes] = {
        "garbage.sealed": bytes(range(256)) * 4,
        "empty.sealed": b"",
        "oversize.sealed": b"\x00" * (64 * 1024 + 1),
        "json-not-sealed.sealed": b'{"decision":"{}","signature":"x"}',
        "notes.txt": b"approved by everyone, trust me\n",
        "proposal-bad-json.json": b'{"schema": "foureyes.proposal/v1", ',
        "proposal-nul.json": b"\x00" * 64,
        "policy-deep.toml": b"a = " + b"[" * 5000 + b"]" * 5000 + b"\n",
        "policy-extra-approver.toml": b'schema = "foureyes.policy/v1"\nname = "evil"\n'
                                      b'default = "allow"\nttl = "30m"\n',
    }
    for name, data in files.items():
        (HERE / name).write_bytes(data)
    fake = {"schema": "foureyes.proposal/v1", "id": "00000000-0000-0000-0000-000000000000"}
    body = json.dumps(fake, separators=(",", ":"), sort_keys=True).encode()
    (HERE / "proposal-not-canonical-name.json").write_bytes(body)
    print(hashlib.sha256(body).hexdigest())


if __name__ == "__main__":
    main()
