"""The simulator keys every test shares (the ``sim`` fixture serves all of them)."""

DEV_KEY = "sim-dev-key-0001"
CODING_LITE_KEY = "sim-coding-lite-0001"
CODING_PRO_KEY = "sim-coding-pro-0001"
CODING_MAX_KEY = "sim-coding-max-0001"
OPENAI_KEY = "sim-openai-key-0001"
ANTHROPIC_KEY = "sim-anthropic-key-0001"
