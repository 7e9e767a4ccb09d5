"""Where a gated integration finds its queue, its pinned policy and its gate key.

One small TOML file, shared by `foureyes mcp proxy`, `foureyes exec`, `foureyes hook
claude-code` and the `@gated` decorator, so that gating an agent is configuration:

    server = "http://127.0.0.1:8700"      # the queue server
    policy = "policy.toml"                # the gate's pinned copy (never fetched from the queue)
    gate = "gate:prod"                    # gate identity in the policy
    gate_key = "gate.key"                 # its 0600 OpenSSH key file
    agent = "agent:claude"                # the identity the agent token was issued to
    requester = "alice@example.com"       # the person on whose behalf the agent acts
    state = "state/mcp-bank"              # private: ledger and pending proposals (0700)
    agent_token_file = "agent.token"      # or FOUREYES_AGENT_TOKEN in the environment
    gate_token_file = "gate.token"        # or FOUREYES_GATE_TOKEN

Relative paths are read from the config file's folder. Tokens come from the environment
first, then from the named files; they are never written into the config itself.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import InvalidData

CONFIG_ENV = "FOUREYES_CONFIG"
AGENT_TOKEN_ENV = "FOUREYES_AGENT_TOKEN"
GATE_TOKEN_ENV = "FOUREYES_GATE_TOKEN"
MAX_CONFIG_BYTES = 64 * 1024
MAX_TOKEN_BYTES = 4096
KEYS = {"server", "policy", "gate", "gate_key", "agent", "requester", "state",
        "agent_token_file", "gate_token_file", "wait"}
REQUIRED = ("server", "policy", "gate", "gate_key", "agent", "requester", "state")
DEFAULT_WAIT = 300.0


@dataclass(frozen=True)
class GateConfig:
    server: str
    policy: Path
    gate: str
    gate_key: Path
    agent: str
    requester: str
    state: Path
    agent_token: str
    gate_token: str
    wait: float = DEFAULT_WAIT  # how long one call waits for reviewers before answering

    def open_gate(self):  # noqa: ANN201 - a core.gate.Gate
        """A Gate on the configured server, pinned to the configured policy file."""
        from core.gate import Gate
        from core.queue.http import HttpQueue
        from core.signing import key_source

        state = self.state
        state.mkdir(parents=True, exist_ok=True)
        state.chmod(0o700)
        try:
            policy_bytes = self.policy.read_bytes()
        except OSError as e:
            raise InvalidData("config", f"cannot read the pinned policy {self.policy}: "
                              f"{e.strerror}") from e
        signer = key_source(self.gate_key).signer(self.gate)
        return Gate(HttpQueue(self.server, token=self.agent_token), policy_bytes,
                    identity=self.gate, signer=signer, agent=self.agent, state_dir=state,
                    receipts=HttpQueue(self.server, token=self.gate_token))


def _token(env: str, file_value: Any, base: Path, name: str) -> str:
    value = os.environ.get(env)
    if value:
        return value.strip()
    if file_value is None:
        raise InvalidData("config", f"no {name} token: set {env} or {name}_token_file")
    data = _read_bounded(base / str(file_value), MAX_TOKEN_BYTES)
    return data.decode("utf-8", "replace").strip()


def _read_bounded(path: Path, limit: int) -> bytes:
    """A local file of at most `limit` bytes, or InvalidData `config` saying why not."""
    try:
        with path.open("rb") as f:
            data = f.read(limit + 1)
    except OSError as e:
        raise InvalidData("config", f"cannot read {path}: {e.strerror}") from e
    if len(data) > limit:
        raise InvalidData("config", f"{path} is larger than {limit} bytes")
    return data


def load_config(path: Path | str | None = None) -> GateConfig:
    """Read the config file named by ``path`` or by $FOUREYES_CONFIG; refuse anything odd."""
    if path is None:
        path = os.environ.get(CONFIG_ENV)
    if not path:
        raise InvalidData("config", f"no gate configuration: pass --config or set {CONFIG_ENV}")
    path = Path(path).expanduser()
    data = _read_bounded(path, MAX_CONFIG_BYTES)
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise InvalidData("config", f"{path} is not valid TOML: {e}") from e
    unknown = sorted(set(doc) - KEYS)
    if unknown:  # a typo never passes silently
        raise InvalidData("config", f"{path}: unknown keys {', '.join(unknown)}")
    missing = [k for k in REQUIRED if not isinstance(doc.get(k), str) or not doc[k]]
    if missing:
        raise InvalidData("config", f"{path}: missing or not text: {', '.join(missing)}")
    wait = doc.get("wait", DEFAULT_WAIT)
    if isinstance(wait, bool) or not isinstance(wait, int | float) or not 0 <= wait <= 86400:
        raise InvalidData("config", f"{path}: wait must be a number of seconds (0 to 86400)")
    base = path.resolve().parent
    return GateConfig(
        server=doc["server"], policy=base / doc["policy"], gate=doc["gate"],
        gate_key=base / doc["gate_key"], agent=doc["agent"], requester=doc["requester"],
        state=base / Path(doc["state"]).expanduser(),
        agent_token=_token(AGENT_TOKEN_ENV, doc.get("agent_token_file"), base, "agent"),
        gate_token=_token(GATE_TOKEN_ENV, doc.get("gate_token_file"), base, "gate"),
        wait=float(wait))
