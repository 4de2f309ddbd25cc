"""Review rules from ``.hunkwise.toml`` text, through the real loader and schema (tests only)."""

from __future__ import annotations

from pathlib import Path

from hunkwise.config.files import ConfigFiles, parse_config_text
from hunkwise.config.review_settings import review_config
from hunkwise.config.settings import Settings
from hunkwise.review.rules import RepoRules


def repo_rules(text: str, path: Path = Path(".hunkwise.toml")) -> RepoRules:
    return RepoRules.from_config(
        review_config(ConfigFiles([parse_config_text(text, path)]), settings=Settings.from_env({}))
    )
