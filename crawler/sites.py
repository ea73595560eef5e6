"""Built-in site rules, as data (sites.yaml): a domain -> body selectors and elements to remove."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from urllib.parse import urlsplit

import yaml


@dataclass(frozen=True)
class SiteRule:
    """Where a site keeps its article body."""

    body: tuple[str, ...]
    remove: tuple[str, ...]


@functools.cache
def _rules() -> dict[str, SiteRule]:
    text = resources.files("crawler").joinpath("sites.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text) or {}
    return {
        domain.lower(): SiteRule(body=tuple(rule.get("body", ())), remove=tuple(rule.get("remove", ())))
        for domain, rule in data.items()
    }


def rule_for(url: str) -> SiteRule | None:
    """The built-in rule for the URL's host or its nearest parent domain, or None."""
    host = (urlsplit(url).hostname or "").lower()
    rules = _rules()
    labels = host.split(".")
    for start in range(len(labels) - 1):
        rule = rules.get(".".join(labels[start:]))
        if rule is not None:
            return rule
    return None
