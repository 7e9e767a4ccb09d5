"""How values are written for people: amounts, countdowns, times and fingerprints.

Kept apart from the widgets so the queue model, the card, the dialog and the HTML export
spell everything the same way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.formats import Proposal, canonical
from core.textsafety import reveal as _reveal

# ISO 4217 minor-unit exponents that are not 2; the rest of the world uses cents.
_EXPONENTS = {"JPY": 0, "KRW": 0, "VND": 0, "CLP": 0, "ISK": 0, "BHD": 3, "KWD": 3,
              "OMR": 3, "JOD": 3, "TND": 3}
CONFIRM_CHARS = 8
# Parameter names that say where an action goes, most specific first.
RECIPIENT_KEYS = ("to", "recipient", "payee", "account", "destination", "target", "principal",
                  "user", "email")
# A reason is the reviewer's own words: at least this many characters and words. The app's
# settings may raise these, never lower them (no policy key: SPEC §3 forbids unknown ones).
MIN_REASON_CHARS = 15
MIN_REASON_WORDS = 3
FINGERPRINT_GROUPS = 4


def amount_minor(params: dict[str, Any]) -> tuple[int, str] | None:
    """The amount from the exact action parameters (never from the agent's summary)."""
    value = params.get("amount_minor")
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    currency = params.get("currency")
    return value, currency if isinstance(currency, str) else ""


def format_amount(value: int, currency: str) -> str:
    exp = _EXPONENTS.get(currency.upper(), 2) if currency.isascii() else 2
    sign = "-" if value < 0 else ""
    whole, frac = divmod(abs(value), 10 ** exp)
    text = f"{sign}{whole:,}" + (f".{frac:0{exp}d}" if exp else "")
    return f"{text} {currency}".strip()


def format_left(expires_at: datetime, now: datetime) -> str:
    seconds = int((expires_at - now).total_seconds())
    if seconds <= 0:
        return "expired"
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours:02d}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    return f"{minutes}m {secs:02d}s"


def format_when(moment: datetime) -> str:
    """UTC as SPEC writes it, plus local time: reviewers and auditors compare both."""
    utc = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    local = moment.astimezone().strftime("%Y-%m-%d %H:%M %Z")
    return f"{utc} ({local})"


def format_age(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} days ago"


def hex_of(ref: str) -> str:
    return ref.split(":", 1)[1] if ref.startswith("sha256:") else ref


def fingerprint(ref: str) -> str:
    """A hash shortened for eyes: the first 128 bits in groups of eight hex digits."""
    digits = hex_of(ref)
    return " ".join(digits[i:i + CONFIRM_CHARS]
                    for i in range(0, CONFIRM_CHARS * FINGERPRINT_GROUPS, CONFIRM_CHARS))


def confirm_code(proposal: Proposal) -> str:
    """What a reviewer types to confirm an irreversible action: the fingerprint's start."""
    return hex_of(proposal.action_hash)[:CONFIRM_CHARS]


def needs_confirmation(proposal: Proposal, verdict: str) -> bool:
    """Every approval needs the typed fingerprint code.

    Whether an action is reversible is the agent's own, unverified claim, and the policy has
    no setting for it (SPEC §3 forbids keys it does not define), so the safe reading is the
    only one: an approval always confirms the exact action. Rejecting never needs it.
    """
    del proposal  # the agent's `reversibility` deliberately plays no part
    return verdict == "approve"


def reason_problem(reason: str, min_chars: int = MIN_REASON_CHARS,
                   min_words: int = MIN_REASON_WORDS) -> str:
    """Why this is not yet a reason a person would accept, or ""."""
    text = reason.strip()
    if not text:
        return "Write a reason: it is required, and it is kept exactly as you type it."
    words = len(text.split())
    if len(text) < max(min_chars, MIN_REASON_CHARS) or words < max(min_words,
                                                                    MIN_REASON_WORDS):
        return (f"Write a real reason, in at least {max(min_words, MIN_REASON_WORDS)} words "
                f"and {max(min_chars, MIN_REASON_CHARS)} characters: what did you check? "
                "(\"ok\" is not a reason.)")
    return ""


# Plain sentences for the refusal codes a reviewer can meet (precheck, server, folder).
def plain_refusal(code: str, message: str) -> str:
    """A sentence for a person, with the queue's own words and code kept for support."""
    from core.codes import sentence as _sentence

    sentence = _sentence(code)
    if sentence is None:
        return f"{message} [{code}]"
    return f"{sentence}\n(Details: {message} [{code}])"


def reveal(text: str, *, single_line: bool = False) -> tuple[str, list[str]]:
    """Agent text made visible (bidi, zero-width, look-alikes; in a one-line field also line
    breaks and runs of spaces), with what was flagged."""
    visible, warnings = _reveal(text, single_line=single_line)
    return visible, [str(w) for w in warnings]


def recipient(params: dict[str, Any]) -> str:
    """Who or what the action goes to, from the signed parameters (never the summary)."""
    for key in RECIPIENT_KEYS:
        value = params.get(key)
        if isinstance(value, str):
            return value
    return ""


def param_text(value: Any) -> str:
    """One parameter value for eyes: strings as they are, the rest as canonical JSON."""
    if isinstance(value, str):
        return value
    if type(value) is int:  # canonical JSON of an integer is its decimal digits
        return str(value)
    return canonical(value).decode()
