"""The LangChain adapter with the real langchain-core package (optional extra) over the real
queue server: refusals come back as tool error text; approval runs the tool once."""

from __future__ import annotations

import asyncio

import pytest

from core.integrations import GatedRunner, load_config
from tests.test_integrations_support import DAVE, env  # noqa: F401

tools = pytest.importorskip("langchain_core.tools")

SUMMARY = {"title": "Pay invoice 4411", "why": "due today", "blast_radius": "one vendor",
           "reversibility": "irreversible", "evidence": []}


def test_gated_langchain_tool(env):  # noqa: F811
    from core.integrations.langchain import gate_tool

    calls = []

    @tools.tool
    def pay(amount_minor: int, to: str) -> str:
        """Pay a vendor."""
        calls.append((amount_minor, to))
        return f"paid {amount_minor} to {to}"

    runner = GatedRunner.from_config(load_config(env.config("langchain", wait=0.3)))
    safe = gate_tool(pay, runner=runner, route="py.langchain.pay")
    assert "foureyes_summary" in safe.tool_call_schema.model_json_schema()["required"]
    args = {"amount_minor": 300, "to": "acct-7", "foureyes_summary": SUMMARY}
    pending = safe.invoke(args)
    assert "[pending]" in pending and "same call" in pending
    proposal = pending.split("Proposal ")[1].split()[0]
    assert safe.invoke({**args, "amount_minor": 301}).count(proposal) == 0  # new proposal
    assert "[summary]" in safe.invoke({"amount_minor": 300, "to": "acct-7",
                                       "foureyes_summary": {"title": "t"}})
    env.approve(proposal)
    assert asyncio.run(safe.ainvoke(args)) == "paid 300 to acct-7"
    assert calls == [(300, "acct-7")]
    rejected = env.pending("py.langchain.pay")  # the 301 one
    env.decide(rejected, DAVE, "reject")
    assert "[rejected]" in safe.invoke({**args, "amount_minor": 301})
    assert calls == [(300, "acct-7")]
    runner.close()
