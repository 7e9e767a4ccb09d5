"""The summary an agent writes for reviewers (SPEC §4), as integrations ask for it.

It is untrusted agent text: it only ever becomes the proposal's `summary`, shown as plain
text, and never reaches the tool. The proposal reader checks it fully; this module only
gives agents a schema to fill in and turns "missing" into a clear refusal.
"""

from __future__ import annotations

from typing import Any

from core.errors import InvalidData

SUMMARY_FIELD = "foureyes_summary"
REVERSIBILITY = ["irreversible", "partially_reversible", "reversible"]
ALLOWED = ("title", "why", "blast_radius", "reversibility", "evidence", "cost_impact_minor",
           "confidence", "gates_passed")

SUMMARY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "For the two human reviewers who must approve this exact call before it "
                   "runs. Plain text; be specific. Not passed to the tool.",
    "properties": {
        "title": {"type": "string", "maxLength": 200,
                  "description": "What this call does, in one line."},
        "why": {"type": "string", "description": "Why it is needed now."},
        "blast_radius": {"type": "string",
                         "description": "What and who it affects if it goes wrong."},
        "reversibility": {"type": "string", "enum": REVERSIBILITY},
        "evidence": {"type": "array", "description": "Where reviewers can check the claim.",
                     "items": {"type": "object", "required": ["label", "ref"],
                               "properties": {"label": {"type": "string"},
                                              "ref": {"type": "string"}},
                               "additionalProperties": False}},
    },
    "required": ["title", "why", "blast_radius", "reversibility", "evidence"],
    "additionalProperties": False,
}


def default_summary(what: str) -> dict[str, Any]:
    """For calls that run without approval (still logged) when the agent gave none."""
    return {"title": what[:200], "why": "not given (runs without approval under the policy)",
            "blast_radius": "not given", "reversibility": "irreversible", "evidence": []}


def summary_from(given: Any, *, tool: str, required: bool) -> dict[str, Any]:
    """The proposal summary from what the agent sent; InvalidData `summary` if unusable."""
    if given is None:
        if required:
            raise InvalidData("summary", f"{SUMMARY_FIELD} is missing: this call needs human "
                              "approval, and reviewers need its title, why, blast_radius, "
                              "reversibility and evidence. Nothing was proposed.")
        return default_summary(f"call {tool}")
    if not isinstance(given, dict):
        raise InvalidData("summary", f"{SUMMARY_FIELD} must be an object")
    unknown = sorted(set(given) - set(ALLOWED))
    if unknown:
        raise InvalidData("summary", f"{SUMMARY_FIELD} has unknown fields: {', '.join(unknown)}")
    missing = [k for k in ("title", "why", "blast_radius", "reversibility")
               if not isinstance(given.get(k), str) or not given[k].strip()]
    if missing:
        raise InvalidData("summary", f"{SUMMARY_FIELD} lacks {', '.join(missing)}")
    if given["reversibility"] not in REVERSIBILITY:
        raise InvalidData("summary", f"{SUMMARY_FIELD}.reversibility must be one of "
                          f"{', '.join(REVERSIBILITY)}")
    return dict(given)
