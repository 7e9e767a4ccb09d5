"""`HttpQueue`: the Queue interface over the queue server's HTTP API (httpx).

Reviewers log in by signing the server's challenge with their key; agents, gates and
auditors send the bearer token an operator gave them. GETs are retried with back-off on
connection trouble; POSTs are not retried blindly (a decision is idempotent by its bytes on
the server, but we let the caller decide to resend).
"""

from __future__ import annotations

import ssl
import time
from typing import Any

import httpx

from core.errors import InvalidData, TransportError
from core.formats import Proposal
from core.policy import SignedDecision
from core.queue.base import DecisionAck, ProposalView, Queue
from core.queue.logcheck import ProposalLog
from core.signing import Signer

DEFAULT_TIMEOUT = 10.0
GET_RETRIES = 3
BACKOFF_SECONDS = 0.3
MAX_PAGES = 1000  # of GET /v1/proposals, at most 100 views each


def _signed(obj: dict[str, Any] | None, key: str) -> SignedDecision | None:
    return SignedDecision(obj[key].encode(), obj["signature"]) if obj else None


def view_from_json(obj: dict[str, Any]) -> ProposalView:
    try:
        proposal = Proposal.from_bytes(obj["proposal"].encode())
        if proposal.hash != obj["hash"]:
            raise InvalidData("format", "the server sent a proposal under another hash")
        receipt = obj.get("receipt")
        return ProposalView(
            proposal=proposal, status=obj["status"],
            my_decision=_signed(obj.get("my_decision"), "decision"),
            decisions=tuple(_signed(d, "decision") for d in obj.get("decisions", [])),
            receipt=(receipt["receipt"].encode(), receipt["signature"]) if receipt else None)
    except (KeyError, TypeError, AttributeError) as e:
        raise InvalidData("format", f"the server's answer is malformed: {e}") from e


def _code_of(response: httpx.Response) -> str | None:
    """The error code of a JSON error body; None for anything else (a proxy's HTML page)."""
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("code") if isinstance(body, dict) else None


class HttpQueue(Queue):
    def __init__(self, base_url: str, *, token: str | None = None, identity: str | None = None,
                 signer: Signer | None = None, timeout: float = DEFAULT_TIMEOUT,
                 transport: httpx.BaseTransport | None = None,
                 ca: str | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.identity = identity
        self.signer = signer
        self.token = token
        # ca: a PEM file of the CA that signed the server's certificate (a private CA)
        verify: ssl.SSLContext | bool = True
        if ca:
            try:
                verify = ssl.create_default_context(cafile=ca)
            except (OSError, ssl.SSLError) as e:
                raise InvalidData("format", f"cannot use {ca} as a CA certificate: {e}") from e
        self.client = httpx.Client(base_url=self.base_url, timeout=timeout, transport=transport,
                                   verify=verify)

    # ------------------------------------------------------------------ plumbing

    def _send(self, method: str, path: str, *, json: Any = None, params: Any = None,
              timeout: float | None = None, auth: bool = True) -> httpx.Response:
        headers = {}
        if auth:
            if self.token is None and self.signer is not None:
                self.login()
            if self.token:
                headers["Authorization"] = f"Bearer {self.token}"
        attempts = GET_RETRIES if method == "GET" else 1
        for attempt in range(attempts):
            try:
                kwargs: dict[str, Any] = {"headers": headers, "params": params}
                if json is not None:
                    kwargs["json"] = json
                if timeout is not None:
                    kwargs["timeout"] = timeout
                response = self.client.request(method, path, **kwargs)
                break
            except httpx.TransportError as e:
                if attempt + 1 == attempts:
                    raise TransportError("unreachable", f"cannot reach {self.base_url}: {e}") \
                        from e
                time.sleep(BACKOFF_SECONDS * (2 ** attempt))
        if response.status_code == 401 and auth and self.signer is not None and \
                _code_of(response) == "token_expired":
            self.token = None
            return self._send(method, path, json=json, params=params, timeout=timeout)
        if response.status_code >= 400:
            try:
                err = response.json()
                code, message = str(err["code"]), str(err["message"])
            except (ValueError, KeyError, TypeError):  # not our JSON: a proxy's page, say
                code = {401: "unauthenticated", 403: "forbidden", 404: "not_found"}.get(
                    response.status_code, "http")
                message = (f"{self.base_url} answered HTTP {response.status_code} without a "
                           "Foureyes error (a proxy, or not a Foureyes server?)")
            if response.status_code >= 500:
                raise TransportError(code, message)
            raise InvalidData(code, message)
        return response

    def login(self) -> None:
        if self.signer is None or self.identity is None:
            raise InvalidData("unauthenticated", "logging in needs an identity and a key")
        ch = self._send("POST", "/v1/login/challenge", json={"identity": self.identity},
                        auth=False).json()
        lines = str(ch.get("challenge", "")).split("\n")
        expected = httpx.URL(self.base_url).netloc.decode()
        if len(lines) != 5 or lines[0] != "foureyes-login" or lines[1] != expected or \
                lines[2] != self.identity or ch.get("namespace") != "foureyes-login-v1":
            raise InvalidData("login", f"the server sent a login challenge that is not for "
                              f"{expected} and {self.identity}; refusing to sign it")
        signature = self.signer.sign(ch["challenge"].encode(), ch["namespace"])
        out = self._send("POST", "/v1/login", json={"challenge": ch["challenge"],
                                                    "signature": signature}, auth=False).json()
        self.token = out["token"]

    # ------------------------------------------------------------------ Queue

    def whoami(self) -> tuple[str, str]:
        """(role, identity) the server takes this token or session for."""
        out = self._send("GET", "/v1/whoami").json()
        try:
            return str(out["role"]), str(out["identity"])
        except (KeyError, TypeError) as e:
            raise InvalidData("format", f"the server's answer is malformed: {e}") from e

    def policy_bytes(self) -> bytes:
        return self._send("GET", "/v1/policy", auth=False).content

    def submit_proposal(self, proposal: Proposal) -> None:
        self._send("POST", "/v1/proposals", json={"proposal": proposal.raw.decode()})

    def list_proposals(self) -> list[ProposalView]:
        views: list[ProposalView] = []
        offset: int | None = 0
        for _ in range(MAX_PAGES):
            page = self._send("GET", "/v1/proposals", params={"offset": offset}).json()
            try:
                items, offset = page["items"], page["next"]
            except (KeyError, TypeError) as e:
                raise InvalidData("format", f"the server's answer is malformed: {e}") from e
            views += [view_from_json(v) for v in items]
            if offset is None:
                # newest first: a proposal arriving between pages shifts one view onto the
                # next page twice; none is ever skipped
                seen: set[str] = set()
                return [v for v in views if not (v.hash in seen or seen.add(v.hash))]
        raise InvalidData("too_large", f"the queue lists more than {MAX_PAGES} pages")

    def get_proposal(self, proposal_hash: str) -> ProposalView:
        return view_from_json(self._send("GET", f"/v1/proposals/{proposal_hash}").json())

    def submit_decision(self, proposal_hash: str, decision: SignedDecision) -> DecisionAck:
        out = self._send("POST", f"/v1/proposals/{proposal_hash}/decisions",
                         json={"decision": decision.document.decode(),
                               "signature": decision.signature}).json()
        return DecisionAck(out["decision"], out.get("log_index"))

    def wait(self, proposal_hash: str, timeout: float) -> ProposalView:
        out = self._send("GET", f"/v1/proposals/{proposal_hash}/wait",
                         params={"timeout": timeout}, timeout=timeout + DEFAULT_TIMEOUT)
        return view_from_json(out.json())

    def claim(self, proposal_hash: str) -> None:
        self._send("POST", f"/v1/proposals/{proposal_hash}/claim", json={})

    def proposal_log(self, proposal_hash: str) -> ProposalLog:
        return ProposalLog.from_json(self._send("GET", f"/v1/proposals/{proposal_hash}/log"
                                                ).json())

    def record_receipt(self, proposal_hash: str, receipt: bytes, signature: str) -> None:
        self._send("POST", f"/v1/proposals/{proposal_hash}/receipt",
                   json={"receipt": receipt.decode(), "signature": signature})

    def export_bundle(self, proposal_hash: str) -> bytes:
        return self._send("GET", f"/v1/proposals/{proposal_hash}/bundle").content

    def checkpoint(self) -> str:
        return self._send("GET", "/v1/log/checkpoint").text

    def entries(self, start: int, stop: int) -> list[bytes]:
        out = self._send("GET", "/v1/log/entries", params={"start": start, "stop": stop})
        return [e.encode() for e in out.json()["entries"]]

    def close(self) -> None:
        self.client.close()
