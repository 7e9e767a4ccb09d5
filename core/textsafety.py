"""Making agent-written text safe to show: nothing hidden, nothing that looks like something else.

Bidi controls can reorder what a reviewer reads ("Trojan Source"), zero-width characters can
hide inside an account number, control characters can rewrite a terminal line, and a
Cyrillic "а" can pass for a Latin "a". `reveal` replaces each with a visible marker such as
⟦U+202E RIGHT-TO-LEFT OVERRIDE⟧ and says, in plain words, what it found.

Fields meant to hold one line (a title, a recipient, a parameter value) get
``single_line=True``: a line break there would draw a second, official-looking line ("Approved-by:
security@example.com"), and a long run of spaces pushes the rest of the value out of sight. Both
become visible markers (⟦↵ line break⟧, ⟦3000 spaces⟧) and are flagged. In multi-line text,
line breaks stay, but a run of whitespace long enough to push text off screen is still
collapsed into a marker and flagged. Unicode line and paragraph separators are flagged in both
modes (Qt draws them as line breaks).
"""

from __future__ import annotations

import re
import unicodedata

BIDI = set(range(0x202A, 0x202F)) | set(range(0x2066, 0x206A)) | {0x200E, 0x200F, 0x061C}
ZERO_WIDTH = {0x200B, 0x200C, 0x200D, 0x2060, 0xFEFF, 0x00AD, 0x180E}
SEPARATORS = {0x2028, 0x2029}  # Unicode LINE SEPARATOR and PARAGRAPH SEPARATOR
KEEP = {"\n", "\t"}
MAX_REVEAL_CHARS = 200_000
# Runs of spaces at least this long are collapsed into one marker: in a one-line field
# (where two spaces are the most a person types), and in multi-line text.
SINGLE_LINE_SPACE_RUN = 3
MULTI_LINE_SPACE_RUN = 16
LINE_BREAK_MARKER = "⟦↵ line break⟧"
TAB_MARKER = "⟦⇥ tab⟧"

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

LABELS = {
    "bidi": "bidirectional control characters that can reorder what you read",
    "zero-width": "invisible (zero-width) characters",
    "control": "control or unassigned characters",
    "separator": "Unicode line or paragraph separators (they draw a new line)",
    "look-alike": "non-ASCII characters that look like ASCII letters",
    "line-break": "line breaks in a one-line field: shown as ⟦↵ line break⟧ markers",
    "tab": "tabs in a one-line field: shown as ⟦⇥ tab⟧ markers",
    "spaces": "long runs of spaces that could push text out of sight: shown as "
              "⟦N spaces⟧ markers",
}
_MARKED = ("bidi", "zero-width", "control", "separator", "look-alike")

# Fast paths: printable ASCII with no long space run needs no work (10,000-row queues).
_CLEAN_SINGLE = re.compile(r"[\x21-\x7e]*(?: {1,2}[\x21-\x7e]+)* ?")
_CLEAN_MULTI = re.compile(r"[\x20-\x7e\n\t]*")
_SPACE_RUNS = {n: re.compile(f" {{{n},}}") for n in (SINGLE_LINE_SPACE_RUN,
                                                      MULTI_LINE_SPACE_RUN)}


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


def _kind(ch: str) -> str | None:
    cp = ord(ch)
    if 0x20 <= cp < 0x7F:
        return None
    if cp in BIDI:
        return "bidi"
    if cp in ZERO_WIDTH:
        return "zero-width"
    if cp in SEPARATORS:
        return "separator"
    if ch not in KEEP and unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co", "Cn"):
        return "control"
    if _lookalike(ch):
        return "look-alike"
    return None


def is_plain(text: str, *, single_line: bool = False) -> bool:
    """True when `reveal` would change nothing and warn about nothing (a cheap check)."""
    if single_line and text.isascii() and _CLEAN_SINGLE.fullmatch(text) is not None:
        return True
    return reveal(text, single_line=single_line)[1] == []


def shown(value: object) -> str:
    """Any value someone else chose, as one line a terminal cannot be steered by.

    Whoever wrote the value (a bundle, an agent's summary, a share's file name, a server's
    error message) could put an escape sequence in it that erases the line above and prints
    its own verdict, hides what follows, or a line break that draws an official-looking line
    of its own. Every hidden, control, bidi or deceptive character and every line break is
    made visible instead. Every CLI print of such a value goes through here."""
    text = value if type(value) is str else str(value)
    return reveal(text, single_line=True)[0]


def shown_lines(value: object, indent: str) -> str:
    """Multi-line text someone else wrote (an agent's "why"), with its line breaks kept but
    every line after the first indented by `indent`, so no line it draws can start where
    the tool's own lines start; everything else as in `shown`."""
    text = reveal(value if type(value) is str else str(value))[0]
    return text.replace("\n", "\n" + indent)


def reveal(text: str, *, single_line: bool = False) -> tuple[str, list[str]]:
    """(text with every hidden or deceptive character made visible, warnings)."""
    if text.isascii():
        if single_line:
            if _CLEAN_SINGLE.fullmatch(text):
                return text, []
        elif _CLEAN_MULTI.fullmatch(text) and " " * MULTI_LINE_SPACE_RUN not in text:
            return text, []
    if len(text) > MAX_REVEAL_CHARS:
        text = text[:MAX_REVEAL_CHARS]
        cut = [f"the text was longer than {MAX_REVEAL_CHARS} characters; the rest is not shown"]
    else:
        cut = []
    run = SINGLE_LINE_SPACE_RUN if single_line else MULTI_LINE_SPACE_RUN
    found: dict[str, int] = {}

    def spaces(m: re.Match[str]) -> str:
        found["spaces"] = found.get("spaces", 0) + 1
        return f"⟦{len(m.group())} spaces⟧"

    out: list[str] = []
    for ch in text:
        if single_line and ch == "\n":
            found["line-break"] = found.get("line-break", 0) + 1
            out.append(LINE_BREAK_MARKER)
            continue
        if single_line and ch == "\t":
            found["tab"] = found.get("tab", 0) + 1
            out.append(TAB_MARKER)
            continue
        kind = _kind(ch)
        if kind is None:
            out.append(ch)
        else:
            found[kind] = found.get(kind, 0) + 1
            out.append(_marker(ch))
    shown = _SPACE_RUNS[run].sub(spaces, "".join(out))
    warnings = []
    for kind in (*_MARKED, "line-break", "tab", "spaces"):
        n = found.get(kind)
        if n:
            tail = ": shown as ⟦U+…⟧ markers" if kind in _MARKED else ""
            warnings.append(f"{n} {LABELS[kind]}{tail}")
    return shown, warnings + cut
