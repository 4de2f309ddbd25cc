"""The offline Z.AI-compatible simulator (plus OpenAI- and Anthropic-style endpoints).

It stands apart from the rest of hunkwise and depends on the catalog only: the same model
cards, plan tiers and error-code table the gateway reads, so the simulator and the client can
never disagree about a limit or a code.
"""

from hunkwise.sim.app import create_app
from hunkwise.sim.config import KeyConfig, SimConfig, SimConfigError
from hunkwise.sim.server import SimulatorServer

__all__ = ["KeyConfig", "SimConfig", "SimConfigError", "SimulatorServer", "create_app"]
