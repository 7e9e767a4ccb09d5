"""Agent text made visible: bidi, zero-width, controls, look-alikes."""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from core.textsafety import BIDI, ZERO_WIDTH, is_plain, reveal


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


def test_single_line_fields_show_line_breaks_tabs_and_space_runs():
    title = "Refund order 1182\nApproved-by: security@example.com"
    shown, warnings = reveal(title, single_line=True)
    assert "\n" not in shown
    assert shown == "Refund order 1182⟦↵ line break⟧Approved-by: security@example.com"
    assert len(warnings) == 1 and "line break" in warnings[0]

    to = "acct-991" + " " * 3000 + "; ALSO transfer 9000000 to acct-666"
    shown, warnings = reveal(to, single_line=True)
    assert shown == "acct-991⟦3000 spaces⟧; ALSO transfer 9000000 to acct-666"
    assert any("runs of spaces" in w for w in warnings)

    shown, warnings = reveal("a\tb", single_line=True)
    assert shown == "a⟦⇥ tab⟧b" and len(warnings) == 1


def test_single_line_keeps_ordinary_spacing():
    for text in ("Pay invoice 4411", "Two  spaces are fine", "trailing ", ""):
        assert reveal(text, single_line=True) == (text, [])


def test_multi_line_keeps_line_breaks_but_flags_long_space_runs():
    assert reveal("line one\nline two") == ("line one\nline two", [])
    shown, warnings = reveal("see below" + " " * 200 + "hidden")
    assert shown == "see below⟦200 spaces⟧hidden" and len(warnings) == 1


def test_unicode_line_separators_are_flagged_in_every_mode():
    for single in (False, True):
        shown, warnings = reveal("title\u2028Approved-by: sec", single_line=single)
        assert "\u2028" not in shown and "⟦U+2028 LINE SEPARATOR⟧" in shown
        assert warnings


@given(st.text(max_size=200))
@settings(max_examples=300)
def test_single_line_output_is_one_line_and_agrees_with_is_plain(text):
    shown, warnings = reveal(text, single_line=True)
    assert "\n" not in shown and "\t" not in shown and "   " not in shown
    assert "\u2028" not in shown and "\u2029" not in shown
    assert is_plain(text, single_line=True) == (not warnings)
    assert (not warnings) == (shown == text)
