"""Every error and refusal code Foureyes uses, declared once.

A code is what a machine matches (a script, the app, another team's verifier); the sentence
is what a person reads; the HTTP status is what the server answers with. Nothing compares
code strings by prefix: a code not declared here is a bug (`lookup` raises), and the tests
check that every code the sources raise is declared, so the registry cannot fall behind.
`docs/formats.md` lists the same table, generated from here (`python -m core.codes`).

Sentences never reveal another reviewer's verdict, or whether one exists: a server shows
them to reviewers.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Code:
    name: str
    meaning: str  # for operators and auditors: what was checked
    sentence: str  # for the person who was refused: what it means for them
    http: int = 422  # the status the server answers with


_ALL: tuple[Code, ...] = (
    # --- reading documents (SPEC §1)
    Code("format", "A document or request is malformed, non-canonical or has a wrong type.",
         "The data is malformed and was not accepted.", 400),
    Code("schema", "A document names an unknown schema.",
         "The document is of an unknown kind or version.", 400),
    Code("time", "A time is not RFC 3339 UTC with seconds and a Z.",
         "A time is written wrongly; use 2026-11-24T09:30:00Z.", 400),
    Code("identity", "An identity does not match its pattern (whole value, lowercase ASCII).",
         "An identity is written wrongly (lowercase name@domain, agent:name or gate:name).",
         400),
    Code("truncated", "An SSH wire-format field ends early.",
         "The signature or key data is cut short.", 400),
    Code("too_large", "A request body or file exceeds its size limit.",
         "That is larger than the limit allowed.", 413),
    Code("content_type", "A request was not sent as JSON.",
         "Send JSON with Content-Type: application/json.", 415),
    # --- policy (SPEC §3)
    Code("policy", "The policy file is invalid.", "The policy file is invalid.", 400),
    Code("policy_hash", "A document pins another policy than the one given or active.",
         "This proposal pins another policy than the one the queue enforces.", 409),
    Code("policy_changed", "A shared folder's policy.toml differs from the one the gate pinned.",
         "The folder's policy is not the one the gate serves; nothing there counts.", 409),
    Code("denied", "No rule matches the route and the policy's default is deny.",
         "The policy does not allow this action at all.", 403),
    Code("ttl", "A proposal lives longer than the applying rule allows.",
         "The proposal asks for a longer lifetime than the policy allows.", 422),
    # --- decisions (SPEC §5), in the order the quorum function checks them
    Code("signature", "The SSHSIG does not verify under the expected namespace.",
         "The signature could not be verified.", 422),
    Code("not_in_roster", "The verifying key is not in the pinned (or active) roster.",
         "Your identity or key is not in the policy's list of reviewers. Hand your public "
         "key line (Keys tab) to your security team.", 403),
    Code("reviewer_mismatch", "The reviewer field, or the logged-in identity, is not the "
         "roster identity of the signing key.",
         "Your key belongs to another identity in the policy.", 403),
    Code("binding", "A bound field differs from the proposal's, or decided_at lies before "
         "the proposal was created.",
         "Your decision does not match this exact proposal, so it was refused.", 422),
    Code("expired", "The proposal expired before the decision (or execution).",
         "This proposal has expired. It can no longer be decided, and it will never run.",
         422),
    Code("key_not_valid", "The reviewer's roster entry is not valid at decided_at or at "
         "arrival, or the reviewer left the active policy.",
         "Your reviewer entry in the policy is not valid at this time.", 403),
    Code("self_approval", "The reviewer is the proposal's proposer or requester.",
         "You asked for this action yourself (or you are the agent that proposed it), so "
         "you cannot review it. Someone else must.", 403),
    Code("not_eligible", "The reviewer holds none of the groups the rule names.",
         "You hold none of the groups this policy rule requires.", 403),
    Code("duplicate_reviewer", "This person already has a counted decision on the proposal.",
         "You have already decided on this proposal; one person counts once.", 409),
    Code("duplicate_key", "This key already has a counted decision on the proposal.",
         "This key has already been used for a decision on this proposal.", 409),
    Code("clock", "decided_at is too far from the judge's clock (server: 5 minutes either "
         "way; folder gate: 5 minutes ahead).",
         "Your computer's clock is too far off; fix it and decide again.", 422),
    Code("closed", "The proposal's outcome is already final; later decisions never count.",
         "This proposal is closed: its outcome is final.", 409),
    Code("rejected", "A reviewer rejected the proposal (gate SDK).",
         "A reviewer rejected this action; it will not run.", 409),
    Code("pending", "The wait deadline passed; the proposal may still be decided (gate SDK).",
         "No decision yet; it may still be decided later.", 409),
    Code("quorum", "The counted decisions do not approve the proposal.",
         "There is no valid quorum of approvals for this.", 409),
    # --- receipts (SPEC §6)
    Code("receipt", "The receipt is not signed by a gate of the policy, or does not rest on "
         "the counted approvals.", "The execution receipt is not valid.", 422),
    Code("receipt_time", "The receipt's executed_at lies before a counted decision or after "
         "the proposal's expiry.", "The execution time in the receipt is impossible.", 422),
    Code("already_executed", "The proposal already has a receipt or an execution claim.",
         "This action has already been executed (or claimed by a gate); it runs once.", 409),
    Code("not_final", "A bundle was asked for before the outcome was final.",
         "The proposal is not finished yet, so there is no bundle.", 409),
    # --- sessions and roles (server)
    Code("unauthenticated", "No token, or an unknown one.", "Log in first.", 401),
    Code("token_expired", "The token or session has expired.",
         "Your session has expired; log in again.", 401),
    Code("forbidden", "The caller's role may not do this.", "You may not do this.", 403),
    Code("proposer", "The proposal names another agent than the caller's token.",
         "You can only propose as yourself.", 403),
    Code("role", "A role or identity does not fit the token asked for.",
         "That role does not fit that identity.", 400),
    Code("challenge", "The login challenge is unknown, expired, or for another server.",
         "The login challenge is not valid here; ask for a new one.", 401),
    Code("replay", "A login challenge was used twice.",
         "This login challenge was already used.", 401),
    Code("login", "A login step failed on the client.", "Logging in failed.", 401),
    Code("token_revoked", "The operator revoked this bearer token or session.",
         "This token was revoked; ask your operator for a new one.", 401),
    Code("role_conflict", "An auditor token names an approver of the active policy "
         "(auditors see verdicts; a reviewer must not).",
         "This token's identity is a reviewer in the policy, so it cannot act as an "
         "auditor.", 403),
    Code("timeout", "A request body did not arrive in time.",
         "The request took too long to arrive; send it again.", 408),
    Code("rate_limited", "Too many requests or proposals in a window.",
         "Too many requests; wait a moment.", 429),
    Code("not_found", "No such proposal, route or log position.",
         "The queue does not know this (any more).", 404),
    Code("method_not_allowed", "The HTTP method is not allowed on this route.",
         "That request is not allowed here.", 405),
    Code("http", "Another HTTP-level error.", "The request failed.", 400),
    # --- log (SPEC §7) and bundles (SPEC §8-9)
    Code("log_damaged", "The audit log or the store does not verify.",
         "The audit log is damaged; the server will not run on it.", 503),
    Code("log_mismatch", "The log's entries for a proposal disagree with the decisions or "
         "receipt a queue reports.", "The queue's record disagrees with its own audit log.",
         409),
    Code("checkpoint", "A signed checkpoint does not verify with a trusted log key.",
         "The log checkpoint is not signed by a trusted log key.", 422),
    Code("inclusion", "A log entry is not proven in the checkpoint, or a needed one is "
         "missing.", "The log does not prove this record.", 422),
    Code("decision_left_out", "The bundle's log records a decision on this proposal whose "
         "file the bundle leaves out.", "The bundle hides a recorded decision.", 422),
    Code("second_execution", "The bundle's log records more than one receipt for this "
         "proposal, or another receipt than the bundle's.",
         "The record shows a second execution.", 422),
    Code("receipt_left_out", "The bundle's log records a receipt for this proposal but the "
         "bundle holds none.", "The bundle hides a recorded execution.", 422),
    Code("archive", "The bundle zip breaks the bundle layout or its limits.",
         "The bundle file is damaged or not laid out as a bundle.", 422),
    Code("not_a_bundle", "The file is missing or not a zip.", "That is not a bundle file.",
         400),
    Code("trust", "The auditor's trust file is invalid.", "The trust file is invalid.", 400),
    Code("decision", "A decision counted (verifier check line).", "A decision counted.", 200),
    # --- transport, storage, keys (local errors)
    Code("unreachable", "The queue cannot be reached.", "The queue cannot be reached right "
         "now.", 503),
    Code("storage", "A local database or file cannot be read or written.",
         "Local storage failed.", 503),
    Code("unreadable", "A file on a share cannot be read safely (link, FIFO, device, "
         "permissions, size).", "A file could not be read safely and was skipped.", 422),
    Code("share_blocked", "A name the gate must create on a share is already taken (a planted "
         "file, link or folder), or a link stands where the gate writes.",
         "Something on the shared folder is in the way of a file the gate writes.", 409),
    Code("unattributable", "A refused decision on a share was not signed by a roster key, so "
         "it names no reviewer (reported to the operator, never logged against a person).",
         "A decision could not be attributed to any reviewer and was ignored.", 422),
    Code("not_ours", "A proposal on a share was not submitted by this gate; it is ignored.",
         "This gate did not submit that proposal, so it does not count it.", 404),
    Code("key", "A key is malformed.", "The key is malformed.", 400),
    Code("key_type", "A key is not Ed25519.", "Only Ed25519 keys are accepted.", 400),
    Code("key_file", "A key file is malformed.", "The key file is malformed.", 400),
    Code("key_file_permissions", "A private key file is readable by others.",
         "The key file is readable by others; make it 0600.", 400),
    Code("key_exists", "A key already exists where a new one was asked for.",
         "A key already exists there; it was not overwritten.", 409),
    Code("no_key", "No signing key for this identity on this computer.",
         "There is no signing key for your identity on this computer.", 400),
    Code("keyring_unavailable", "The OS keyring is not available.",
         "The OS keyring is not available, so nothing can be signed.", 503),
    Code("identity_mismatch", "A key or file names another identity than expected.",
         "That key belongs to another identity.", 400),
    Code("not_a_gate", "The key is not a gate key of the pinned policy.",
         "This is not a gate of the policy.", 403),
    Code("no_gate", "The policy names no gate (needed to seal decisions).",
         "The policy names no gate to seal decisions to.", 400),
    Code("gate", "The gate is misconfigured (keys, state).", "The gate is misconfigured.", 400),
    Code("settings", "The app's settings are invalid.", "The settings are invalid.", 400),
    Code("cache", "The app's offline cache is unreadable.", "The offline cache is unreadable.",
         503),
    Code("demo", "The demo could not run.", "The demo could not run.", 500),
    Code("sums", "A release's SHA256SUMS is malformed or does not match.",
         "The release checksums do not match.", 422),
    Code("signers", "A release_signers file is malformed.", "The release signers file is "
         "invalid.", 400),
    Code("threshold", "Too few distinct release signers signed.",
         "Not enough release signers signed this release.", 422),
    Code("file_missing", "A release file listed in SHA256SUMS is missing.",
         "A release file is missing.", 422),
    Code("file_mismatch", "A release file's hash differs from SHA256SUMS.",
         "A release file does not match its checksum.", 422),
    # --- integrations (MCP proxy, exec, decorator, hooks)
    Code("config", "An integration's configuration (gate config file, options or "
         "environment) is invalid or incomplete.",
         "The Foureyes gate configuration is invalid; nothing was proposed or run.", 400),
    Code("upstream", "The gated tool (an upstream MCP server or a command) is gone or could "
         "not be started.", "The tool behind the gate is not available; nothing ran.", 502),
    Code("summary", "A gated call lacks the summary reviewers read (title, why, blast "
         "radius, reversibility), or it is malformed.",
         "Fill in foureyes_summary (title, why, blast_radius, reversibility) so reviewers "
         "know what they approve.", 422),
    Code("unknown_key", "A release signature's key is not in release_signers.",
         "A release signature is by a key the release signers file does not list.", 422),
    Code("namespace_not_allowed", "A release signature's key is in release_signers, but "
         "its namespaces= option does not allow foureyes-release-v1.",
         "That signer's key is listed, but not for signing releases.", 422),
    Code("invalid_signature", "A release signature does not verify.",
         "A release signature does not verify.", 422),
    Code("wrong_identity", "A release signature file names another signer than the key's.",
         "A release signature is filed under another signer's name.", 422),
    Code("duplicate_signer", "One release signer signed more than once (counted once).",
         "A release signer signed twice; it counts once.", 422),
    # --- operating the CLI and the server
    Code("log_key", "The server's log key is not listed in the policy's [[logs]].",
         "The log key is not in the policy, so its checkpoints would never count.", 400),
    Code("address_in_use", "The server cannot listen on the address and port asked for.",
         "That address or port is already in use.", 503),
    Code("tls", "The TLS certificate or key cannot be used.",
         "The TLS certificate or key cannot be used.", 400),
    Code("no_display", "The desktop app was asked for but no display is available.",
         "There is no display to open the app on.", 503),
    Code("failed", "The command a gate executed failed; its receipt records the failure.",
         "The action ran and failed; it will not run again.", 422),
    Code("internal", "An unexpected error inside Foureyes (a bug).",
         "Something unexpected went wrong inside Foureyes.", 500),
)

REGISTRY: dict[str, Code] = {c.name: c for c in _ALL}
assert len(REGISTRY) == len(_ALL), "a code is declared twice"


def lookup(name: str) -> Code:
    """The declared code; an undeclared one is a programming error, never a silent 500."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"undeclared error code {name!r}: declare it in core/codes.py") from None


def http_status(name: str) -> int:
    code = REGISTRY.get(name)
    return code.http if code is not None else 400


def sentence(name: str) -> str | None:
    code = REGISTRY.get(name)
    return code.sentence if code is not None else None


def markdown_table() -> str:
    rows = ["| code | HTTP | meaning |", "|---|---|---|"]
    rows += [f"| `{c.name}` | {c.http} | {c.meaning} |" for c in _ALL]
    return "\n".join(rows) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(markdown_table(), end="")
