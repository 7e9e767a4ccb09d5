"""The HTTP face of the queue (FastAPI under uvicorn). Routes stay thin: parse, call the
service, map errors to `{"code", "message"}` with a fitting 4xx status."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from core import __version__
from core.errors import InvalidData, Refused, TransportError
from core.server.auth import Caller
from core.server.service import QueueService

MAX_BODY_BYTES = 256 * 1024
MAX_WAIT_SECONDS = 30.0
WAIT_POLL_SECONDS = 0.2
SWEEP_SECONDS = 1.0


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChallengeIn(_Strict):
    identity: str = Field(max_length=254)


class LoginIn(_Strict):
    challenge: str = Field(max_length=1024)
    signature: str = Field(max_length=8192)


class ProposalIn(_Strict):
    proposal: str = Field(description="the proposal's canonical bytes, as a string")


class DecisionIn(_Strict):
    decision: str = Field(description="the decision's canonical bytes, as a string")
    signature: str = Field(max_length=8192, description="armored SSHSIG")


class ReceiptIn(_Strict):
    receipt: str
    signature: str = Field(max_length=8192)


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"code": code, "message": message}, status_code=status)


class BodyLimit:
    """Pure ASGI middleware: refuse oversize bodies before anything reads them."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            return await _error(413, "too_large", f"request bodies are limited to "
                                f"{MAX_BODY_BYTES} bytes")(scope, receive, send)
        seen = 0

        async def limited() -> dict:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > MAX_BODY_BYTES:
                raise _TooLarge()
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await _error(413, "too_large", "request body too large")(scope, receive, send)


class _TooLarge(Exception):
    pass


def create_app(service: QueueService) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI):  # noqa: ANN202
        async def sweeper() -> None:
            while True:
                with contextlib.suppress(Exception):
                    await run_in_threadpool(service.sweep)
                await asyncio.sleep(SWEEP_SECONDS)

        task = asyncio.create_task(sweeper())
        yield
        task.cancel()

    # The interactive /docs pages would load scripts from a CDN: off. /openapi.json stays.
    app = FastAPI(title="Foureyes queue", version=__version__, lifespan=lifespan,
                  docs_url=None, redoc_url=None,
                  description="Two-person rule for AI agents: proposals, signed decisions, "
                  "receipts, and a Merkle audit log.")

    @app.exception_handler(Refused)
    async def refused(_r: Request, e: Refused) -> JSONResponse:
        return _error(e.status, e.code, e.message)

    @app.exception_handler(InvalidData)
    async def invalid(_r: Request, e: InvalidData) -> JSONResponse:
        return _error(400, e.code, e.message)

    @app.exception_handler(TransportError)
    async def transport(_r: Request, e: TransportError) -> JSONResponse:
        return _error(503, e.code, e.message)

    @app.exception_handler(RequestValidationError)
    async def validation(_r: Request, e: RequestValidationError) -> JSONResponse:
        first = e.errors()[0] if e.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return _error(400, "format", f"malformed request: {where}: {first.get('msg', '')}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_r: Request, e: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(e.status_code, "http")
        return _error(e.status_code, code, str(e.detail))

    @app.middleware("http")
    async def content_type(request: Request, call_next: Any) -> Response:
        if request.method == "POST" and not request.headers.get("content-type", "").startswith(
                "application/json"):
            response: Response = _error(415, "content_type",
                                        "send JSON with Content-Type: application/json")
        else:
            response = await call_next(request)
        response.headers["Cache-Control"] = "no-store"  # views differ per reviewer
        return response

    def caller(request: Request) -> Caller:
        auth = request.headers.get("authorization", "")
        token = auth[7:] if auth.lower().startswith("bearer ") else None
        return service.authenticate(token)

    @app.get("/health", tags=["meta"])
    def health() -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "policy": service.policy.hash}

    @app.get("/v1/policy", tags=["meta"], response_class=Response)
    def policy() -> Response:
        return Response(service.policy.raw, media_type="application/toml")

    @app.post("/v1/login/challenge", tags=["auth"])
    def challenge(request: Request, body: ChallengeIn) -> dict[str, Any]:
        return service.challenge(body.identity, request.headers.get("host", ""))

    @app.post("/v1/login", tags=["auth"])
    def login(body: LoginIn) -> dict[str, Any]:
        return service.login(body.challenge, body.signature)

    @app.post("/v1/proposals", tags=["proposals"], status_code=201)
    def submit(request: Request, body: ProposalIn) -> dict[str, Any]:
        return service.submit_proposal(caller(request), body.proposal.encode())

    @app.get("/v1/proposals", tags=["proposals"])
    def list_proposals(request: Request) -> list[dict[str, Any]]:
        return service.list(caller(request))

    @app.get("/v1/proposals/{proposal_hash}", tags=["proposals"])
    def get_proposal(request: Request, proposal_hash: str) -> dict[str, Any]:
        return service.view(caller(request), proposal_hash)

    @app.get("/v1/proposals/{proposal_hash}/wait", tags=["proposals"])
    async def wait(request: Request, proposal_hash: str, timeout: float = 10.0) -> Any:
        who = await run_in_threadpool(caller, request)
        first = await run_in_threadpool(service.view, who, proposal_hash)
        deadline = time.monotonic() + max(0.0, min(timeout, MAX_WAIT_SECONDS))
        view = first
        while view["status"] == first["status"] and view["status"] in ("pending", "approved") \
                and time.monotonic() < deadline:
            await asyncio.sleep(WAIT_POLL_SECONDS)
            view = await run_in_threadpool(service.view, who, proposal_hash)
        return view

    @app.post("/v1/proposals/{proposal_hash}/decisions", tags=["decisions"], status_code=201)
    def decide(request: Request, proposal_hash: str, body: DecisionIn) -> dict[str, Any]:
        return service.submit_decision(caller(request), proposal_hash, body.decision.encode(),
                                       body.signature)

    @app.post("/v1/proposals/{proposal_hash}/claim", tags=["receipts"])
    def claim(request: Request, proposal_hash: str) -> dict[str, Any]:
        return service.claim(caller(request), proposal_hash)

    @app.get("/v1/proposals/{proposal_hash}/log", tags=["log"])
    def proposal_log(request: Request, proposal_hash: str) -> dict[str, Any]:
        return service.proposal_log(caller(request), proposal_hash)

    @app.post("/v1/proposals/{proposal_hash}/receipt", tags=["receipts"], status_code=201)
    def receipt(request: Request, proposal_hash: str, body: ReceiptIn) -> dict[str, Any]:
        return service.record_receipt(caller(request), proposal_hash, body.receipt.encode(),
                                      body.signature)

    @app.get("/v1/proposals/{proposal_hash}/bundle", tags=["bundles"],
             response_class=Response)
    def bundle(request: Request, proposal_hash: str) -> Response:
        data = service.bundle(caller(request), proposal_hash)
        return Response(data, media_type="application/zip")

    def _log_reader(request: Request) -> None:
        who = caller(request)
        if who.role == "reviewer":
            # The log's size and entries would tell a reviewer that someone else decided.
            raise Refused("forbidden", "reviewers read the log through exported bundles", 403)

    @app.get("/v1/log/checkpoint", tags=["log"], response_class=Response)
    def checkpoint(request: Request) -> Response:
        _log_reader(request)
        return Response(service.store.log.latest_checkpoint() or "", media_type="text/plain")

    @app.get("/v1/log/entries", tags=["log"])
    def entries(request: Request, start: int = 0, stop: int = 100) -> dict[str, Any]:
        _log_reader(request)
        stop = min(stop, start + 1000)
        return {"start": start, "entries": [e.decode() for e in
                                            service.store.log.entries(start, stop)]}

    @app.get("/v1/log/proof", tags=["log"])
    def proof(request: Request, index: int, size: int) -> dict[str, Any]:
        import base64

        _log_reader(request)
        return {"index": index, "size": size, "proof": [
            base64.b64encode(h).decode() for h in service.store.log.inclusion_proof(index, size)]}

    @app.get("/v1/log/consistency", tags=["log"])
    def consistency(request: Request, old: int, new: int) -> dict[str, Any]:
        import base64

        _log_reader(request)
        return {"old": old, "new": new, "proof": [
            base64.b64encode(h).decode() for h in service.store.log.consistency_proof(old, new)]}

    app.add_middleware(BodyLimit)
    return app
