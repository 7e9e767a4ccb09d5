"""Making agent-written text safe to show: nothing hidden, nothing that looks like something else.

Bidi controls can reorder what a reviewer reads ("Trojan Source"), zero-width characters can
hide inside an account number, control characters can rewrite a terminal line, and a
Cyrillic "а" can pass for a Latin "a". `reveal` replaces each with a visible marker such as
⟦U+202E RIGHT-TO-LEFT OVERRIDE⟧ and says, in plain words, what it found.
"""

from __future__ import annotations

import unicodedata

BIDI = set(range(0x202A, 0x202F)) | set(range(0x2066, 0x206A)) | {0x200E, 0x200F, 0x061C}
ZERO_WIDTH = {0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD, 0x180E}
KEEP = {"\n", "\t"}
MAX_REVEAL_CHARS = 200_000

# Letters from other scripts that render like ASCII ones (a practical subset of Unicode's
# confusables for Latin: Cyrillic and Greek look-alikes).
CONFUSABLE = {
    "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "ѕ": "s", "і": "i",
    "ј": "j", "ԁ": "d", "ɡ": "g", "һ": "h", "ӏ": "l", "А": "A", "В": "B", "Е": "E", "К": "K",
    "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T", "Х": "X", "У": "Y", "Ѕ": "S",
    "І": "I", "Ј": "J", "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K",
    "Μ": "M", "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "ο": "o", "ν": "v",
    "α": "a",
}


def _marker(ch: str) -> str:
    name = unicodedata.name(ch, "")
    return f"⟦U+{ord(ch):04X}{' ' + name if name else ''}⟧"


def _lookalike(ch: str) -> bool:
    if ord(ch) < 0x80:
        return False
    if ch in CONFUSABLE:
        return True
    folded = unicodedata.normalize("NFKC", ch)
    return folded != ch and all(ord(c) < 0x80 for c in folded) and folded.isprintable()


def reveal(text: str) -> tuple[str, list[str]]:
    """(text with every hidden or deceptive character made visible, warnings)."""
    if len(text) > MAX_REVEAL_CHARS:
        text = text[:MAX_REVEAL_CHARS]
        cut = [f"the text was longer than {MAX_REVEAL_CHARS} characters; the rest is not shown"]
    else:
        cut = []
    out: list[str] = []
    found: dict[str, int] = {}
    for ch in text:
        cp = ord(ch)
        kind = None
        if cp in BIDI:
            kind = "bidi"
        elif cp in ZERO_WIDTH:
            kind = "zero-width"
        elif ch not in KEEP and unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn") \
                and not (0x20 <= cp < 0x7F):
            kind = "control"
        elif _lookalike(ch):
            kind = "look-alike"
        if kind is None:
            out.append(ch)
        else:
            found[kind] = found.get(kind, 0) + 1
            out.append(_marker(ch))
    warnings = []
    labels = {
        "bidi": "bidirectional control characters that can reorder what you read",
        "zero-width": "invisible (zero-width) characters",
        "control": "control or unassigned characters",
        "look-alike": "non-ASCII characters that look like ASCII letters",
    }
    for kind, n in found.items():
        warnings.append(f"{n} {labels[kind]}: shown as ⟦U+…⟧ markers")
    return "".join(out), warnings + cut
