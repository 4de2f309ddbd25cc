"""Wire-protocol adapters: one per protocol, sharing one pool of SDK clients."""

from __future__ import annotations

from hunkwise.gateway.adapters.anthropic_wire import AnthropicWire
from hunkwise.gateway.adapters.base import Adapter, ClientPool, estimate_tokens
from hunkwise.gateway.adapters.openai_wire import OpenAIWire

__all__ = ["Adapter", "AnthropicWire", "ClientPool", "OpenAIWire", "adapter_for", "estimate_tokens"]


def adapter_for(wire: str, clients: ClientPool) -> Adapter:
    """The adapter for a slot's wire; anything but ``anthropic`` speaks the OpenAI wire,
    which every other supported endpoint implements.
    """
    return AnthropicWire(clients) if wire == "anthropic" else OpenAIWire(clients)
