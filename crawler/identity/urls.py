"""URL identity: the normalized form two links of one article share, and the article id derived from it.

Tracking parameters are removed by the ClearURLs rules (https://github.com/ClearURLs/Rules), the list the
ClearURLs browser add-on and its ports maintain: global rules (`utm_*`, `fbclid`, `gclid`, `spm`, `mc_eid` ...)
and per-site ones (BBC's `at_*` on bbc.com, Amazon's `tag` ...). The list comes from the `unalix-rev` package,
which ships it as data; only its parameter rules are applied (never its redirect unwrapping or raw rewrites, which
change the path), and a rule that names a site applies on that site only. docs/FORMAT.md's own few names are kept on
top, so an update of the list can never bring them back.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from crawler.errors import CrawlerError

DEFAULT_PORTS = {"http": 80, "https": 443}

# docs/FORMAT.md names these; BBC's `at_medium`/`at_campaign` also reach us on bbc.co.uk links, which the list's BBC
# rule (bbc.com) does not cover.
_FORMAT_NAMED = frozenset({"spm", "fbclid", "gclid", "from", "at_medium", "at_campaign"})
_FORMAT_PREFIXES = ("utm_",)

_RULES_PACKAGE = "unalix"  # the `unalix-rev` distribution; read as data, never imported (its import is slow)
_RULES_FILE = ("package_data", "rulesets", "data.min.json")
_TEST_PROVIDERS = ("ClearURLsTest",)  # the list's own self-test entries, not sites


class TrackingRulesError(CrawlerError):
    """The packaged list of tracking parameters is missing or unreadable (a broken install)."""


@dataclass(frozen=True)
class _Provider:
    """One ClearURLs provider: which URLs it covers, and which parameter names it removes from them."""

    url_pattern: re.Pattern[str]
    exceptions: tuple[re.Pattern[str], ...]
    params: re.Pattern[str]  # fullmatch against a parameter's name, case-insensitively

    def applies_to(self, url: str) -> bool:
        return self.url_pattern.search(url) is not None and not any(e.search(url) for e in self.exceptions)


def normalize_url(url: str) -> str:
    """`url` with scheme and host lowercased, default port, fragment and tracking parameters removed."""
    return _normalize(url.strip())


@functools.lru_cache(maxsize=8192)
def _normalize(url: str) -> str:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return url
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host
    if port is not None and DEFAULT_PORTS.get(scheme) != port:
        netloc = f"{host}:{port}"
    if parts.username or parts.password:
        netloc = f"{parts.username or ''}{':' + parts.password if parts.password else ''}@{netloc}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        tracking = tracking_parameters(urlunsplit((scheme, netloc, parts.path or "/", "", "")))
        kept = [(key, value) for key, value in pairs if not tracking(key)]
        # Re-encoding could change a query that had nothing to drop; keep such a query exactly as written.
        query = query if len(kept) == len(pairs) else urlencode(kept, doseq=True)
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))


def tracking_parameters(url: str) -> _IsTracking:
    """The test of whether a query parameter of `url` (given without its query) only tracks how a reader came."""
    return _IsTracking(tuple(p.params for p in _providers() if p.applies_to(url)))


@dataclass(frozen=True)
class _IsTracking:
    patterns: tuple[re.Pattern[str], ...]

    def __call__(self, key: str) -> bool:
        lowered = key.lower()
        if lowered in _FORMAT_NAMED or lowered.startswith(_FORMAT_PREFIXES):
            return True
        return any(pattern.fullmatch(key) for pattern in self.patterns)


@functools.cache
def _providers() -> tuple[_Provider, ...]:
    """The ClearURLs providers that remove parameters, compiled once per process."""
    providers: list[_Provider] = []
    for name, raw in _load_rules().items():
        names = [*_strings(raw, "rules"), *_strings(raw, "referralMarketing")]
        if name.startswith(_TEST_PROVIDERS) or not names:
            continue
        try:
            providers.append(
                _Provider(
                    url_pattern=re.compile(_strings(raw, "urlPattern")[0], re.IGNORECASE),
                    exceptions=tuple(re.compile(e, re.IGNORECASE) for e in _strings(raw, "exceptions")),
                    params=re.compile("|".join(f"(?:{n})" for n in names), re.IGNORECASE),
                )
            )
        except (re.error, IndexError) as exc:
            raise TrackingRulesError(f"{_rules_path()}: provider '{name}' is not a valid rule ({exc})") from None
    return tuple(providers)


def _strings(raw: dict[str, object], key: str) -> list[str]:
    value = raw.get(key)
    if isinstance(value, str):
        return [value]
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _rules_path() -> Path:
    # find_spec locates the package without running its __init__ (which builds SSL contexts: half a second).
    spec = importlib.util.find_spec(_RULES_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise TrackingRulesError("the tracking-parameter list is missing: reinstall the crawler (package unalix-rev)")
    return Path(next(iter(spec.submodule_search_locations)), *_RULES_FILE)


def _load_rules() -> dict[str, dict[str, object]]:
    """The list's providers by name, as written."""
    path = _rules_path()
    try:
        loaded: object = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TrackingRulesError(f"{path}: cannot read the tracking-parameter list: {exc}") from None
    providers = loaded.get("providers") if isinstance(loaded, dict) else None
    if not isinstance(providers, dict) or not providers:
        raise TrackingRulesError(f"{path}: not a ClearURLs rules file (no providers)")
    return {str(name): raw for name, raw in providers.items() if isinstance(raw, dict)}


def article_id(canonical_url: str) -> str:
    """16 lowercase hex digits: the start of the SHA-256 of the article's canonical URL."""
    return hashlib.sha256(canonical_url.encode("utf-8")).hexdigest()[:16]
