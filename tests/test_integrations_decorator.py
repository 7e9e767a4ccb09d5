"""`@gated` over the real queue server: approve runs once with the signed arguments; pending,
retry, changed arguments, reject, expiry and an unreachable queue run nothing."""

from __future__ import annotations

import asyncio
import threading

import pytest

from core.errors import InvalidData
from core.gate import Expired, QueueUnreachable, Rejected, StillPending
from core.integrations import GatedRunner, gated, load_config
from core.integrations._runner import action_key
from core.integrations.decorator import value_digest
from tests.test_integrations_support import BOB, DAVE, DEAD_SERVER, env  # noqa: F401

SUMMARY = {"title": "Pay invoice 4411", "why": "due today", "blast_radius": "one vendor",
           "reversibility": "irreversible", "evidence": [{"label": "invoice", "ref": "4411"}]}


def _in_thread(fn, *args, **kwargs):
    box: dict = {}

    def run() -> None:
        try:
            box["value"] = fn(*args, **kwargs)
        except Exception as e:  # noqa: BLE001 - handed to the test
            box["error"] = e

    t = threading.Thread(target=run)
    t.start()
    return t, box


def test_sync_approve_runs_once_with_signed_arguments(env):  # noqa: F811
    calls = []
    cfg = env.config("deco-sync")

    @gated(route="py.pay", config=cfg, summary=SUMMARY, wait=60)
    def pay(amount_minor: int, to: str, memo: tuple = ("a", "b")) -> dict:
        calls.append((amount_minor, to, memo))
        return {"paid": amount_minor}

    t, box = _in_thread(pay, 1200, "acct-1")
    proposal = env.pending("py.pay")
    assert proposal.params == {"amount_minor": 1200, "to": "acct-1", "memo": ["a", "b"]}
    env.approve(proposal)
    t.join(60)
    assert box == {"value": {"paid": 1200}}
    assert calls == [(1200, "acct-1", ["a", "b"])]  # the signed JSON, not the caller's tuple
    receipt = env.receipt(proposal.hash)
    assert receipt["outcome"] == "succeeded"
    assert receipt["result"] == {"sha256": value_digest({"paid": 1200})}
    assert receipt["action"] == action_key("py.pay", proposal.params)


def test_async_function_and_zero_approval_route(env):  # noqa: F811
    calls = []
    runner = GatedRunner.from_config(load_config(env.config("deco-async")))

    @gated(route="py.pay", runner=runner, wait=60)
    async def pay(amount_minor: int) -> str:
        calls.append(amount_minor)
        await asyncio.sleep(0)
        return "ok"

    @gated(route="py.read", runner=runner)
    async def read(report: str) -> str:
        calls.append(report)
        return f"read {report}"

    async def main():
        assert await read("q3") == "read q3"  # no approval, logged with a receipt
        task = asyncio.create_task(pay(5, foureyes_summary=SUMMARY))
        proposal = await asyncio.to_thread(env.pending, "py.pay")
        await asyncio.to_thread(env.approve, proposal)
        return await task, proposal

    value, proposal = asyncio.run(main())
    assert value == "ok" and calls == ["q3", 5]
    assert env.view(proposal.hash).status == "executed"
    runner.close()


def test_pending_retry_changed_args_reject_and_expiry_run_nothing(env):  # noqa: F811
    calls = []
    runner = GatedRunner.from_config(load_config(env.config("deco-matrix")))

    @gated(route="py.pay", runner=runner, summary=SUMMARY, wait=0.5)
    def pay(amount_minor: int) -> None:
        calls.append(amount_minor)

    with pytest.raises(StillPending) as first:
        pay(700)
    with pytest.raises(StillPending) as again:
        pay(700, foureyes_summary={**SUMMARY, "why": "asked again"})
    assert again.value.proposal == first.value.proposal  # the retry attached
    assert first.value.proposal in again.value.message
    with pytest.raises(StillPending) as changed:
        pay(701)
    assert changed.value.proposal != first.value.proposal  # new arguments, new proposal
    env.decide(changed.value.proposal, DAVE, "reject")
    with pytest.raises(Rejected):
        pay(701)
    with pytest.raises(Rejected):  # remembered: the same arguments do not page reviewers
        pay(701)
    # approving the first while nobody waits: the next identical call runs it, once
    env.approve(first.value.proposal)
    pay(700)
    assert calls == [700]
    with pytest.raises(StillPending) as after:  # an identical call later is a new action
        pay(700)
    assert after.value.proposal != first.value.proposal
    assert calls == [700]

    @gated(route="py.short", runner=runner, summary=SUMMARY, wait=30)
    def short(n: int) -> None:
        calls.append(n)

    t, box = _in_thread(short, 1)
    env.decide(env.pending("py.short"), BOB)  # one of two approvals
    t.join(60)
    assert isinstance(box.get("error"), Expired)
    assert calls == [700]
    runner.close()


def test_unreachable_denied_and_missing_summary(env):  # noqa: F811
    calls = []
    dead = GatedRunner.from_config(load_config(env.config("deco-dead", server=DEAD_SERVER)))

    @gated(route="py.pay", runner=dead, summary=SUMMARY, wait=1)
    def pay(amount_minor: int) -> None:
        calls.append(amount_minor)

    with pytest.raises(QueueUnreachable):
        pay(1)

    @gated(route="py.read", runner=dead)
    def read() -> None:
        calls.append("read")

    with pytest.raises(QueueUnreachable):  # even a zero-approval call is logged first
        read()
    live = GatedRunner.from_config(load_config(env.config("deco-live")))

    @gated(route="nowhere.drop", runner=live, summary=SUMMARY)
    def drop() -> None:
        calls.append("drop")

    with pytest.raises(InvalidData) as e:
        drop()
    assert e.value.code == "denied"

    @gated(route="py.pay", runner=live)
    def unexplained(n: int) -> None:
        calls.append(n)

    with pytest.raises(InvalidData) as e:
        unexplained(3)
    assert e.value.code == "summary"
    assert calls == []
    dead.close()
    live.close()
