"""Gate the agents people actually run, by configuration: an MCP proxy, shell commands,
Python tool wrappers and coding-agent hooks, all on one engine over `core.gate.Gate`.

Public: `gated` (decorator), `GatedRunner` (the engine), `GateConfig`/`load_config` (the
shared configuration file), `Executed` (shape a receipt's result).
"""

from core.gate.sdk import Executed
from core.integrations._runner import GatedRunner
from core.integrations.config import GateConfig, load_config
from core.integrations.decorator import gated

__all__ = ["Executed", "GateConfig", "GatedRunner", "gated", "load_config"]
