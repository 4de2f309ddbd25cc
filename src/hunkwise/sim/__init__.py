"""The offline Z.AI-compatible simulator (plus OpenAI- and Anthropic-style endpoints).

It stands apart from the rest of hunkwise and depends on the catalog only: the same model
cards, plan tiers and error-code table the gateway reads, so the simulator and the client can
never disagree about a limit or a code.

:class:`SimulatorServer` (uvicorn on a port) is imported on first use: ``review --offline`` talks
to the app in process and should not pay for a server it never starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hunkwise.sim.app import create_app
from hunkwise.sim.config import KeyConfig, SimConfig, SimConfigError

if TYPE_CHECKING:
    from hunkwise.sim.server import SimulatorServer

__all__ = ["KeyConfig", "SimConfig", "SimConfigError", "SimulatorServer", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "SimulatorServer":
        from hunkwise.sim.server import SimulatorServer

        return SimulatorServer
    raise AttributeError(f"module 'hunkwise.sim' has no attribute {name!r}")
