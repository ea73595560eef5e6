"""URL identity: the normalized form two links of one article share, and the article id derived from it."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Parameters that say how a reader arrived, never which article it is.
_TRACKING_EXACT = frozenset(
    {
        "spm",
        "fbclid",
        "gclid",
        "dclid",
        "msclkid",
        "yclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "from",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "scm",
        "share_token",
        "wt.mc_id",
        "ncid",
        "cmpid",
        "ocid",
    }
)
_TRACKING_PREFIXES = ("utm_", "pk_", "_ga", "hmsr", "hmpl", "hmcu", "hmkw", "hmci")
_DEFAULT_PORTS = {"http": 80, "https": 443}


def normalize_url(url: str) -> str:
    """`url` with scheme and host lowercased, default port, fragment and tracking parameters removed."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return url.strip()
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host
    if port is not None and _DEFAULT_PORTS.get(scheme) != port:
        netloc = f"{host}:{port}"
    if parts.username or parts.password:
        netloc = f"{parts.username or ''}{':' + parts.password if parts.password else ''}@{netloc}"
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(key, value) for key, value in pairs if not _is_tracking(key)]
    # Re-encoding could change a query that had nothing to drop; keep such a query exactly as written.
    query = parts.query if len(kept) == len(pairs) else urlencode(kept, doseq=True)
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))


def _is_tracking(key: str) -> bool:
    lowered = key.lower()
    return lowered in _TRACKING_EXACT or lowered.startswith(_TRACKING_PREFIXES)


def article_id(canonical_url: str) -> str:
    """16 lowercase hex digits: the start of the SHA-256 of the article's canonical URL."""
    return hashlib.sha256(canonical_url.encode("utf-8")).hexdigest()[:16]


def same_site(a: str, b: str) -> bool:
    """Whether two URLs are on one site (same host, or one host a subdomain of the other's registrable tail)."""
    host_a = (urlsplit(a).hostname or "").lower()
    host_b = (urlsplit(b).hostname or "").lower()
    if not host_a or not host_b:
        return False
    if host_a == host_b:
        return True
    tail_a = ".".join(host_a.split(".")[-2:])
    tail_b = ".".join(host_b.split(".")[-2:])
    return tail_a == tail_b and "." in tail_a and not tail_a.replace(".", "").isdigit()
