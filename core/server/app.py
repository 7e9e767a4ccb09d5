"""The HTTP face of the queue (FastAPI under uvicorn). Routes stay thin: parse, call the
service, map errors to `{"code", "message"}` with a fitting 4xx status.

The surface is bounded: bodies are size-limited and must arrive within a deadline, list
endpoints are paged, integer query values have ranges, and strings that cannot be UTF-8
(lone surrogates) are refused as malformed, never crash a handler."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from core import __version__
from core.errors import InvalidData, Refused, TransportError
from core.server.auth import Caller
from core.server.service import QueueService

MAX_BODY_BYTES = 256 * 1024
BODY_TIMEOUT_SECONDS = 10.0  # a client that sends headers and half a body is cut off
MAX_WAIT_SECONDS = 30.0
WAIT_POLL_SECONDS = 0.2
SWEEP_SECONDS = 1.0
MAX_PAGE = 100  # proposals per page of GET /v1/proposals
MAX_LOG_PAGE = 1000  # log entries per GET /v1/log/entries
MAX_POSITION = 2**53 - 1  # any log index, size or list offset (SPEC §1's integer range)


class ErrorOut(BaseModel):
    code: str = Field(description="stable machine code, declared in core/codes.py")
    message: str = Field(description="a sentence for a person")


class _JSON(JSONResponse):
    """JSON in ASCII: an echoed lone surrogate is escaped, never a 500 on encoding."""

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=True, allow_nan=False,
                          separators=(",", ":")).encode("ascii")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="after")
    def _utf8(self) -> _Strict:
        for name, value in self:
            if isinstance(value, str):
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    raise ValueError(f"{name} is not valid UTF-8 text (lone surrogate)") \
                        from None
        return self


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


class HealthOut(BaseModel):
    status: str
    version: str
    policy: str


class WhoamiOut(BaseModel):
    role: str = Field(description="reviewer, agent, gate or auditor")
    identity: str = Field(description="the identity the token or session stands for")


class ChallengeOut(BaseModel):
    challenge: str = Field(description="foureyes-login, host, identity, nonce; one per line")
    namespace: str


class LoginOut(BaseModel):
    token: str
    identity: str
    expires_in: int


class SubmitOut(BaseModel):
    hash: str
    status: str
    already: bool = False


class SignedDecisionOut(BaseModel):
    decision: str
    signature: str


class SignedReceiptOut(BaseModel):
    receipt: str
    signature: str


class ViewOut(BaseModel):
    hash: str
    proposal: str
    status: str
    my_decision: SignedDecisionOut | None
    decisions: list[SignedDecisionOut]
    receipt: SignedReceiptOut | None


class PageOut(BaseModel):
    items: list[ViewOut]
    next: int | None = Field(description="offset of the next page, or null at the end")


class DecisionAckOut(BaseModel):
    """Only the decision's hash: no status, no log position, nothing about others."""

    decision: str


class ClaimOut(BaseModel):
    hash: str
    status: str


class LogEntryOut(BaseModel):
    index: int
    entry: str


class ProposalLogOut(BaseModel):
    checkpoint: str = Field(description="a signed checkpoint (C2SP note)")
    entries: list[LogEntryOut] = Field(description="the log entries about this proposal")
    proofs: dict[str, list[str]] = Field(description="inclusion proofs to the checkpoint, "
                                         "base64 hashes by entry index")


class ReceiptAckOut(BaseModel):
    receipt: str


class EntriesOut(BaseModel):
    start: int
    entries: list[str]


class ProofOut(BaseModel):
    index: int
    size: int
    proof: list[str]


class ConsistencyOut(BaseModel):
    old: int
    new: int
    proof: list[str]


def _error(status: int, code: str, message: str, **headers: str) -> JSONResponse:
    return _JSON({"code": code, "message": message}, status_code=status, headers=headers)


_BEARER = HTTPBearer(auto_error=False, scheme_name="token",
                     description="a reviewer session from /v1/login, or an agent, gate or "
                     "auditor token from `foureyes tokens create`")


class _Abort(Exception):
    pass


class BodyLimit:
    """Pure ASGI middleware: refuse oversize bodies before anything reads them, and cut off
    a body that does not arrive within `body_timeout` seconds."""

    def __init__(self, app: Any, body_timeout: float = BODY_TIMEOUT_SECONDS) -> None:
        self.app = app
        self.body_timeout = body_timeout

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            return await _error(413, "too_large", f"request bodies are limited to "
                                f"{MAX_BODY_BYTES} bytes")(scope, receive, send)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.body_timeout
        seen, done, started = 0, False, False
        failure: tuple[int, str, str] | None = None

        async def guarded_receive() -> dict:
            nonlocal seen, done, failure
            if done:
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
            except TimeoutError:
                failure = (408, "timeout", f"the request body did not arrive within "
                           f"{self.body_timeout:g} seconds")
                raise _Abort() from None
            if message["type"] != "http.request":
                done = True
                return message
            seen += len(message.get("body", b""))
            if seen > MAX_BODY_BYTES:
                failure = (413, "too_large", "request body too large")
                raise _Abort()
            done = not message.get("more_body", False)
            return message

        async def guarded_send(message: dict) -> None:
            nonlocal started
            if failure is not None:
                return  # the inner app's answer to a broken body is replaced below
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, guarded_receive, guarded_send)
        except Exception:
            if failure is None:
                raise
        if failure is not None and not started:
            await _error(*failure, connection="close")(scope, receive, send)


class JsonOnly:
    """Pure ASGI middleware (Starlette's BaseHTTPMiddleware costs a task group and a
    stream per request): a POST must say Content-Type: application/json, else 415; every
    response says Cache-Control: no-store (views differ per reviewer)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def no_store(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", ())
                           if k.lower() != b"cache-control"]
                message = {**message, "headers": [*headers, (b"cache-control", b"no-store")]}
            await send(message)

        if scope["method"] == "POST" and not dict(scope.get("headers") or []).get(
                b"content-type", b"").decode("latin-1").startswith("application/json"):
            return await _error(415, "content_type", "send JSON with Content-Type: "
                                "application/json")(scope, receive, no_store)
        return await self.app(scope, receive, no_store)


_ERRORS: dict[int | str, dict[str, Any]] = {
    "4XX": {"model": ErrorOut, "description": "refused or malformed: a code and a sentence"},
    "5XX": {"model": ErrorOut, "description": "storage or log trouble"},
}


def _body(media_type: str, description: str) -> dict[int | str, dict[str, Any]]:
    return {200: {"description": description,
                  "content": {media_type: {"schema": {"type": "string"}}}}}


def create_app(service: QueueService, body_timeout: float = BODY_TIMEOUT_SECONDS) -> FastAPI:
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
                  docs_url=None, redoc_url=None, responses=_ERRORS,
                  default_response_class=_JSON,
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


    def caller(credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)]
               ) -> Caller:
        return service.authenticate(credentials.credentials if credentials else None)

    Who = Depends(caller)  # noqa: N806

    @app.get("/health", tags=["meta"])
    def health() -> HealthOut:
        return HealthOut(status="ok", version=__version__, policy=service.policy.hash)

    @app.get("/v1/policy", tags=["meta"], response_class=Response,
             responses=_body("application/toml", "the active policy file, byte for byte"))
    def policy() -> Response:
        return Response(service.policy.raw, media_type="application/toml")

    @app.get("/v1/whoami", tags=["auth"])
    def whoami(who: Caller = Who) -> WhoamiOut:
        """Who the server takes the caller to be: `foureyes propose` proposes as this agent."""
        return WhoamiOut(role=who.role, identity=who.identity)

    @app.post("/v1/login/challenge", tags=["auth"])
    def challenge(body: ChallengeIn) -> ChallengeOut:
        return ChallengeOut(**service.challenge(body.identity))

    @app.post("/v1/login", tags=["auth"])
    def login(body: LoginIn) -> LoginOut:
        return LoginOut(**service.login(body.challenge, body.signature))

    @app.post("/v1/proposals", tags=["proposals"], status_code=201)
    def submit(body: ProposalIn, who: Caller = Who) -> SubmitOut:
        return SubmitOut(**service.submit_proposal(who, body.proposal.encode()))

    @app.get("/v1/proposals", tags=["proposals"])
    def list_proposals(who: Caller = Who, limit: int = Query(MAX_PAGE, ge=1, le=MAX_PAGE),
                       offset: int = Query(0, ge=0, le=MAX_POSITION)) -> PageOut:
        views = service.list(who, limit=limit + 1, offset=offset)
        more = len(views) > limit
        return PageOut(items=[ViewOut(**v) for v in views[:limit]],
                       next=offset + limit if more else None)

    @app.get("/v1/proposals/{proposal_hash}", tags=["proposals"])
    def get_proposal(proposal_hash: str, who: Caller = Who) -> ViewOut:
        return ViewOut(**service.view(who, proposal_hash))

    @app.get("/v1/proposals/{proposal_hash}/wait", tags=["proposals"])
    async def wait(proposal_hash: str, who: Caller = Who,
                   timeout: float = Query(10.0, ge=0, description="seconds; at most "
                                          f"{MAX_WAIT_SECONDS:g} are waited")) -> ViewOut:
        first = await run_in_threadpool(service.view, who, proposal_hash)
        deadline = time.monotonic() + min(timeout, MAX_WAIT_SECONDS)
        view = first
        while view["status"] == first["status"] and view["status"] in ("pending", "approved") \
                and time.monotonic() < deadline:
            await asyncio.sleep(WAIT_POLL_SECONDS)
            view = await run_in_threadpool(service.view, who, proposal_hash)
        return ViewOut(**view)

    @app.post("/v1/proposals/{proposal_hash}/decisions", tags=["decisions"], status_code=201)
    def decide(proposal_hash: str, body: DecisionIn, who: Caller = Who) -> DecisionAckOut:
        return DecisionAckOut(**service.submit_decision(who, proposal_hash,
                                                        body.decision.encode(), body.signature))

    @app.post("/v1/proposals/{proposal_hash}/claim", tags=["receipts"])
    def claim(proposal_hash: str, who: Caller = Who) -> ClaimOut:
        return ClaimOut(**service.claim(who, proposal_hash))

    @app.get("/v1/proposals/{proposal_hash}/log", tags=["log"])
    def proposal_log(proposal_hash: str, who: Caller = Who) -> ProposalLogOut:
        return ProposalLogOut(**service.proposal_log(who, proposal_hash))

    @app.post("/v1/proposals/{proposal_hash}/receipt", tags=["receipts"], status_code=201)
    def receipt(proposal_hash: str, body: ReceiptIn, who: Caller = Who) -> ReceiptAckOut:
        return ReceiptAckOut(**service.record_receipt(who, proposal_hash,
                                                      body.receipt.encode(), body.signature))

    @app.get("/v1/proposals/{proposal_hash}/bundle", tags=["bundles"], response_class=Response,
             responses=_body("application/zip", "the proof bundle (docs/formats.md)"))
    def bundle(proposal_hash: str, who: Caller = Who) -> Response:
        return Response(service.bundle(who, proposal_hash), media_type="application/zip")

    def log_reader(who: Caller = Who) -> Caller:
        if who.role == "reviewer":
            # The log's size and entries would tell a reviewer that someone else decided.
            raise Refused("forbidden", "reviewers read the log through exported bundles", 403)
        return who

    Reader = Depends(log_reader)  # noqa: N806
    position = {"ge": 0, "le": MAX_POSITION}

    @app.get("/v1/log/checkpoint", tags=["log"], response_class=Response,
             responses=_body("text/plain", "the latest signed checkpoint (a C2SP signed note)"))
    def checkpoint(_who: Caller = Reader) -> Response:
        return Response(service.store.log.latest_checkpoint() or "", media_type="text/plain")

    @app.get("/v1/log/entries", tags=["log"])
    def entries(_who: Caller = Reader, start: int = Query(0, **position),
                stop: int = Query(100, **position)) -> EntriesOut:
        stop = min(stop, start + MAX_LOG_PAGE)
        return EntriesOut(start=start, entries=[e.decode() for e in
                                                service.store.log.entries(start, stop)])

    @app.get("/v1/log/proof", tags=["log"])
    def proof(index: int = Query(**position), size: int = Query(**position),
              _who: Caller = Reader) -> ProofOut:
        import base64

        return ProofOut(index=index, size=size, proof=[
            base64.b64encode(h).decode() for h in service.store.log.inclusion_proof(index, size)])

    @app.get("/v1/log/consistency", tags=["log"])
    def consistency(old: int = Query(**position), new: int = Query(**position),
                    _who: Caller = Reader) -> ConsistencyOut:
        import base64

        return ConsistencyOut(old=old, new=new, proof=[
            base64.b64encode(h).decode() for h in service.store.log.consistency_proof(old, new)])

    app.add_middleware(JsonOnly)
    app.add_middleware(BodyLimit, body_timeout=body_timeout)
    return app
