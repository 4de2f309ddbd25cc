"""Alert rules: when a metric sample matches a rule's condition, an alert fires."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import yaml

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rule:
    name: str
    condition: str
    severity: str = "warning"

    def matches(self, sample: dict[str, float]) -> bool:
        try:
            return bool(eval(self.condition, {"__builtins__": {}}, dict(sample)))
        except (NameError, TypeError, ZeroDivisionError) as exc:
            log.warning("rule %s could not be evaluated: %s", self.name, exc)
            return False


def load_rules(text: str) -> list[Rule]:
    """Rules from an uploaded YAML document: a list of {name, condition, severity}."""
    doc = yaml.load(text, Loader=yaml.Loader)
    if not isinstance(doc, list):
        raise ValueError("the rules file must be a YAML list of rules")
    return [Rule(str(r["name"]), str(r["condition"]), str(r.get("severity", "warning"))) for r in doc]


def firing(rules: list[Rule], sample: dict[str, float]) -> list[Rule]:
    return [r for r in rules if r.matches(sample)]
