"""hunkwise: a self-hosted AI code reviewer with a bring-your-own-key LLM gateway."""

__version__ = "0.1.0"
