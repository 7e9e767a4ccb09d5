"""Agent text made visible: bidi, zero-width, controls, look-alikes."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from core.textsafety import BIDI, ZERO_WIDTH, reveal


def test_plain_ascii_is_unchanged():
    text = "Pay invoice 4411\n\tto acct-991 (<b>not html</b>)"
    assert reveal(text) == (text, [])


def test_bidi_zero_width_controls_and_lookalikes_are_marked():
    shown, warnings = reveal("acct\u202e199-tcca\u200b x\x1b[2J p\u0430y ｐay")
    assert "⟦U+202E RIGHT-TO-LEFT OVERRIDE⟧" in shown
    assert "⟦U+200B ZERO WIDTH SPACE⟧" in shown
    assert "⟦U+001B⟧" in shown
    assert "⟦U+0430 CYRILLIC SMALL LETTER A⟧" in shown
    assert "⟦U+FF50 FULLWIDTH LATIN SMALL LETTER P⟧" in shown
    assert len(warnings) == 4


@given(st.text(max_size=200))
@settings(max_examples=300)
def test_output_never_hides_anything(text):
    shown, _ = reveal(text)
    for ch in shown:
        assert ord(ch) not in BIDI and ord(ch) not in ZERO_WIDTH
        assert ch in "\n\t" or unicodedata.category(ch) not in ("Cc", "Cf", "Cs")
