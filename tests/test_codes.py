"""One registry of codes: everything the sources raise is declared, with a sentence."""

from __future__ import annotations

import re
from pathlib import Path

from core.codes import REGISTRY, markdown_table

ROOT = Path(__file__).resolve().parents[1]
RAISED = re.compile(r'(?:InvalidData|Refused|TransportError|_refuse\(pos,|_fail|report\.add|'
                    r'refuse)\(\s*"([a-z_]+)"')


def test_every_raised_code_is_declared():
    found: dict[str, str] = {}
    for path in [*ROOT.glob("core/**/*.py"), *ROOT.glob("app/**/*.py")]:
        for code in RAISED.findall(path.read_text("utf-8")):
            found.setdefault(code, str(path.relative_to(ROOT)))
    missing = {c: where for c, where in found.items() if c not in REGISTRY}
    assert not missing, f"declare these in core/codes.py: {missing}"


def test_every_code_has_a_sentence_and_a_status():
    for code in REGISTRY.values():
        assert code.sentence.endswith(".") and code.meaning
        assert 200 <= code.http < 600


def test_formats_doc_lists_the_registry():
    doc = (ROOT / "docs" / "formats.md").read_text("utf-8")
    assert markdown_table() in doc, "regenerate the table: python -m core.codes"
