"""The offline Z.AI-compatible simulator (plus OpenAI- and Anthropic-style endpoints).

It stands apart from the rest of patchwise and depends on the catalog only: the same model
cards, plan tiers and error-code table the gateway reads, so the simulator and the client can
never disagree about a limit or a code.
"""

from patchwise.sim.app import create_app
from patchwise.sim.config import KeyConfig, SimConfig, SimConfigError
from patchwise.sim.server import SimulatorServer

__all__ = ["KeyConfig", "SimConfig", "SimConfigError", "SimulatorServer", "create_app"]
