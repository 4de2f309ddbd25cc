"""The simulator keys every test shares (the ``sim`` fixture serves all of them), and the slot
of its Developer API key."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hunkwise.gateway import Slot

DEV_KEY = "sim-dev-key-0001"
CODING_LITE_KEY = "sim-coding-lite-0001"
CODING_PRO_KEY = "sim-coding-pro-0001"
CODING_MAX_KEY = "sim-coding-max-0001"
OPENAI_KEY = "sim-openai-key-0001"
ANTHROPIC_KEY = "sim-anthropic-key-0001"


def sim_slot(url: str, key: str = DEV_KEY) -> Slot:
    """GLM-5.1 on the Developer API at ``url`` (a simulator's ``zai_developer_url``), with ``key``:
    the slot the job tests and bench/platform_reviews.py review with."""
    from hunkwise.gateway import Secret, Slot

    return Slot(
        name="main",
        provider="zai",
        base_url=url,
        model="glm-5.1",
        api_key=Secret(key),
        plan="developer",
        input_price=1.4,
        output_price=4.4,
        context_window=200_000,
    )
