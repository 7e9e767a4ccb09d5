"""The share writer's corpus: hostile files a person with no roster key can plant.

Each case in tests/corpus/share/expected.toml is planted into a real folder queue beside a
proposal the gate submitted. The gate must not crash, count or run anything, and must report
the file under the expected code, once, also after a restart (it remembers what it reported).
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from core.errors import InvalidData
from core.policy import Policy
from tests.folder_fixtures import Folder

SHARE = Path(__file__).resolve().parent / "corpus" / "share"
CASES = tomllib.loads((SHARE / "expected.toml").read_text("utf-8"))["case"]


def test_the_share_corpus_is_big_enough_and_reproducible(tmp_path):
    assert len(CASES) >= 10
    for case in CASES:
        assert (SHARE / case["file"]).is_file(), case["file"]


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c['where']}-{c['file']}")
def test_a_planted_file_is_reported_never_fatal(tmp_path, world, case):
    folder = Folder.create(world, tmp_path)
    gate = folder.gate()
    p = world.proposal(policy_hash=Policy.from_bytes(world.policy_bytes()).hash)
    gate.submit_proposal(p)
    data = (SHARE / case["file"]).read_bytes()
    if case["where"] == "decision":
        target = folder.root / "decisions" / p.hash[7:] / case["as"]
        target.parent.mkdir(parents=True, exist_ok=True)
    elif case["where"] == "proposal":
        target = folder.root / "proposals" / case["as"]
    else:
        target = folder.root / "policy.toml"
    target.write_bytes(data)

    view = gate.get_proposal(p.hash)
    assert view.status == "pending" and view.decisions == ()
    gate.list_proposals()
    problems, _more = gate.take_problems()
    codes = {pr.code for pr in problems}
    assert case["code"] in codes, (case, problems)
    gate.close()

    again = folder.gate()  # a restart: reported once, not again (except a swapped policy,
    again.list_proposals()  # which is reported every time until it is put back)
    later, _ = again.take_problems()
    if case["code"] != "policy_changed":
        assert case["code"] not in {pr.code for pr in later if pr.name == target.name}
    assert again.get_proposal(p.hash).decisions == ()
    # a reviewer on the same share never crashes either: it lists, or refuses with a code
    try:
        folder.reviewer("bob@example.com").list_proposals()
    except InvalidData as e:
        assert case["where"] == "policy" and e.code in ("policy", "format"), e
