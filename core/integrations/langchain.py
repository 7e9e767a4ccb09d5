"""Gate a LangChain tool (optional extra: `pip install 'foureyes[langchain]'`).

    from core.integrations.langchain import gate_tool
    safe = gate_tool(transfer_tool, route="payments.transfer", runner=runner)
    agent = create_agent(model, tools=[safe])

The gated tool has the same name and arguments plus a required `foureyes_summary`
(title, why, blast_radius, reversibility, evidence). A call proposes the arguments, waits
up to the bound, and runs the wrapped tool once on approval with the signed arguments.
Every refusal (pending, rejected, expired, denied, unreachable) comes back to the model as
the tool's error text (LangChain's ToolException with handle_tool_error), naming the
proposal; pending means "call again with the same arguments". LangGraph-style interrupts
bind a graph position; this binds the exact arguments.
"""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from langchain_core.tools import BaseTool, StructuredTool, ToolException
from pydantic import BaseModel, Field, create_model

from core.errors import FoureyesError
from core.gate.sdk import Executed
from core.integrations._runner import GatedRunner
from core.integrations.decorator import _json_params, value_digest
from core.integrations.summary import SUMMARY_FIELD, SUMMARY_SCHEMA, summary_from


def _schema_with_summary(tool: BaseTool) -> Any:
    schema = tool.args_schema
    description = SUMMARY_SCHEMA["description"] + " Fields: title, why, blast_radius, " \
        "reversibility (irreversible|partially_reversible|reversible), evidence [{label, ref}]."
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        return create_model(f"{schema.__name__}Gated", __base__=schema, **{
            SUMMARY_FIELD: (dict[str, Any], Field(..., description=description))})
    base = copy.deepcopy(dict(schema or {"type": "object", "properties": {}}))
    base.setdefault("properties", {})[SUMMARY_FIELD] = SUMMARY_SCHEMA
    base["required"] = [*base.get("required", []), SUMMARY_FIELD]
    return base


def gate_tool(tool: BaseTool, *, runner: GatedRunner, route: str | None = None,
              wait: float | None = None) -> StructuredTool:
    """A StructuredTool that runs ``tool`` only once reviewers approve the exact arguments."""
    route = route or f"langchain.{tool.name}"
    bound = runner.wait_bound if wait is None else wait

    def prepare(kwargs: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        given = kwargs.pop(SUMMARY_FIELD, None)
        params = _json_params(kwargs, tool.name)
        return params, summary_from(given, tool=tool.name,
                                    required=runner.approvals(route, params) > 0)

    def func(**kwargs: Any) -> Any:
        try:
            params, summary = prepare(kwargs)
            run = runner.run(route, params, summary, lambda signed: _done(tool.invoke(signed)),
                             wait=bound)
        except FoureyesError as e:
            raise ToolException(f"Foureyes: {e.diagnostics()}") from e
        return run.value

    async def coroutine(**kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()

        def execute(signed: dict[str, Any]) -> Executed:
            return _done(asyncio.run_coroutine_threadsafe(tool.ainvoke(signed), loop).result())

        try:
            params, summary = await asyncio.to_thread(prepare, kwargs)
            run = await asyncio.to_thread(runner.run, route, params, summary, execute,
                                          wait=bound)
        except FoureyesError as e:
            raise ToolException(f"Foureyes: {e.diagnostics()}") from e
        return run.value

    return StructuredTool.from_function(
        func=func, coroutine=coroutine, name=tool.name,
        description=f"[Needs human approval: fill in {SUMMARY_FIELD}; if the answer is "
                    "'pending', call again with the same arguments later.] "
                    + (tool.description or ""),
        args_schema=_schema_with_summary(tool), infer_schema=False, handle_tool_error=True)


def _done(value: Any) -> Executed:
    return Executed(value, result={"sha256": value_digest(value)})
