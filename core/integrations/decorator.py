"""`@gated(route=...)`: any Python function (sync or async) becomes a gated action.

    @gated(route="payments.transfer", summary=lambda p: {...})
    def transfer(amount_minor: int, to: str) -> str: ...

    transfer(120000, "acct-991")                 # proposes, waits, runs once on approval
    transfer(120000, "acct-991", foureyes_summary={...})   # a per-call summary

The call's arguments, bound to the signature with defaults applied, are the proposal's
`params` (they must be JSON). On approval the function is called once with keyword
arguments parsed from the signed proposal bytes, never with the caller's objects (so a
tuple arrives as a list). Past the wait bound the call raises `StillPending` (its
`.proposal` names the proposal); the same call again attaches to it. Every other refusal
is a `GateRefused` or `QueueUnreachable` from `core.gate`, and the function does not run.
The receipt's `result` is `{"sha256": <hex of the return value as canonical JSON, or of
its repr when it is not JSON>}`; an exception records outcome "failed" and is re-raised.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from core.errors import InvalidData
from core.formats import canonical
from core.gate.sdk import Executed
from core.integrations._runner import GatedRunner, sha256_hex
from core.integrations.summary import SUMMARY_FIELD, summary_from

Summary = dict[str, Any] | Callable[[dict[str, Any]], dict[str, Any]] | None


def value_digest(value: Any) -> str:
    try:
        data = canonical(value)
    except Exception:  # noqa: BLE001 - not JSON: digest its repr, still a fingerprint
        data = repr(value).encode()
    return sha256_hex(data)


def _json_params(params: dict[str, Any], where: str) -> dict[str, Any]:
    """The arguments as JSON values (a tuple becomes a list), or InvalidData `format`."""
    try:
        params = json.loads(json.dumps(params, allow_nan=False))
        canonical(params)
    except Exception as e:  # noqa: BLE001 - rfc8785 raises several types
        raise InvalidData("format", f"the arguments of {where} must be JSON values to be "
                          f"proposed: {e}") from e
    return params


def gated(route: str, *, runner: GatedRunner | Callable[[], GatedRunner] | None = None,
          config: str | Path | None = None, summary: Summary = None,
          wait: float | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Gate a function under ``route``. The gate comes from ``runner`` (an instance or a
    factory), else from the config file ``config`` or $FOUREYES_CONFIG, opened on first use."""
    lock = threading.Lock()
    box: dict[str, GatedRunner] = {}

    def get_runner() -> GatedRunner:
        with lock:
            if "r" not in box:
                if isinstance(runner, GatedRunner):
                    box["r"] = runner
                elif runner is not None:
                    box["r"] = runner()
                else:
                    from core.integrations.config import load_config

                    box["r"] = GatedRunner.from_config(load_config(config))
            return box["r"]

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        sig = inspect.signature(fn)
        for p in sig.parameters.values():
            if p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY):
                raise TypeError(f"@gated needs named parameters; {fn.__qualname__} has "
                                f"{p.kind.description} parameter {p.name!r}")
        where = fn.__qualname__

        def prepare(args: tuple, kwargs: dict[str, Any]):  # noqa: ANN202
            given = kwargs.pop(SUMMARY_FIELD, None)
            bound = sig.bind(*args, **kwargs)
            bound.apply_defaults()
            params = _json_params(dict(bound.arguments), where)
            r = get_runner()
            approvals = r.approvals(route, params)
            if given is None and summary is not None:
                given = summary(params) if callable(summary) else summary
            text = summary_from(given, tool=where, required=approvals > 0)
            return r, params, text

        def outcome(value: Any) -> Executed:
            return Executed(value, result={"sha256": value_digest(value)})

        if inspect.iscoroutinefunction(fn):
            @functools.wraps(fn)
            async def awrapper(*args: Any, **kwargs: Any) -> Any:
                r, params, text = await asyncio.to_thread(prepare, args, kwargs)
                loop = asyncio.get_running_loop()

                def run_signed(signed: dict[str, Any]) -> Executed:
                    future = asyncio.run_coroutine_threadsafe(fn(**signed), loop)
                    return outcome(future.result())

                result = await asyncio.to_thread(r.run, route, params, text, run_signed,
                                                 wait=r.wait_bound if wait is None else wait)
                return result.value

            awrapper.route = route  # type: ignore[attr-defined]
            return awrapper

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            r, params, text = prepare(args, kwargs)
            result = r.run(route, params, text, lambda signed: outcome(fn(**signed)),
                           wait=r.wait_bound if wait is None else wait)
            return result.value

        wrapper.route = route  # type: ignore[attr-defined]
        return wrapper

    return decorate
