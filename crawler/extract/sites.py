"""Built-in extraction rules for well-known sites, kept as data in ``sites.yaml``."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from urllib.parse import urlsplit

import yaml

__all__ = ["SiteRule", "rule_for"]


@dataclass(frozen=True)
class SiteRule:
    body: tuple[str, ...]  # CSS selectors tried in order; the first that matches wins
    remove: tuple[str, ...]  # selectors dropped inside the body


def _selectors(value: object, domain: str, key: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f"sites.yaml: {domain}.{key} must be a list of CSS selectors")
    return tuple(v.strip() for v in value)


@functools.cache
def _rules() -> dict[str, SiteRule]:
    # Loaded once per process from the package data, so an installed wheel works without the source tree.
    text = resources.files("crawler.extract").joinpath("sites.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text) or {}
    if not isinstance(data, dict):
        raise ValueError("sites.yaml must map domains to rules")
    rules: dict[str, SiteRule] = {}
    for domain, spec in data.items():
        if not isinstance(spec, dict):
            raise ValueError(f"sites.yaml: rule for {domain} must be a mapping")
        body = _selectors(spec.get("body"), str(domain), "body")
        if not body:
            raise ValueError(f"sites.yaml: rule for {domain} has no body selector")
        remove = _selectors(spec.get("remove"), str(domain), "remove")
        rules[str(domain).lower().strip(".")] = SiteRule(body, remove)
    return rules


def _host(url: str) -> str | None:
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return None
    if not host and "://" not in url:
        # A bare host such as "news.sina.com.cn/..." without a scheme.
        return _host("http://" + url)
    return host.rstrip(".").lower() if host else None


def rule_for(url: str) -> SiteRule | None:
    """The built-in rule for the URL's host (matching the domain or any parent domain), or None.

    The most specific domain wins: ``finance.sina.com.cn`` before ``sina.com.cn``.
    """
    host = _host(url)
    if not host:
        return None
    rules = _rules()
    labels = host.split(".")
    for start in range(len(labels) - 1):
        rule = rules.get(".".join(labels[start:]))
        if rule is not None:
            return rule
    return None
