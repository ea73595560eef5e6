"""Date text -> datetime: ISO 8601, RFC 822, Chinese, English and epoch forms; never raises."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

_TZ = r"(?P<tz>Z|z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?"

_ISO_RE = re.compile(
    r"(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})"
    r"(?:[T\s]+(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<f>\d{1,9}))?)?\s*" + _TZ + ")?"
)

_CJK_DATE_RE = re.compile(
    r"(?P<y>\d{4})\s*年\s*(?P<m>\d{1,2})\s*月\s*(?P<d>\d{1,2})\s*日"
    r"(?:\s*(?:(?P<ampm>上午|下午|早上|晚上)\s*)?(?P<H>\d{1,2})\s*[:：时]\s*(?P<M>\d{2})(?:\s*[:：分]\s*(?P<S>\d{2}))?)?"
)

_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        (
            "jan january",
            "feb february",
            "mar march",
            "apr april",
            "may",
            "jun june",
            "jul july",
            "aug august",
            "sep sept september",
            "oct october",
            "nov november",
            "dec december",
        )
    )
    for m in names.split()
}

_EN_CLOCK = r"(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2}))?\s*(?P<ampm>[ap]\.?m\.?)?"

_EN_TIME = r"(?:,?\s*(?:at\s+)?" + _EN_CLOCK + r"\s*" + _TZ + ")?"

_EN_DAY = r"(?P<d>\d{1,2})(?:st|nd|rd|th)?"

_EN_MDY_RE = re.compile(r"(?P<mon>[A-Za-z]{3,9})\.?\s+" + _EN_DAY + r",?\s+(?P<y>\d{4})" + _EN_TIME)

_EN_DMY_RE = re.compile(_EN_DAY + r"\s+(?P<mon>[A-Za-z]{3,9})\.?,?\s+(?P<y>\d{4})" + _EN_TIME)

_EPOCH_RE = re.compile(r"\d{10}(?:\d{3})?")

# ISO 8601 basic format: 20180619T055000+0900
_ISO_BASIC_RE = re.compile(
    r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})T(?P<H>\d{2})(?P<M>\d{2})(?P<S>\d{2})?" + _TZ,
)


def _tzinfo(tz: str | None) -> timezone | None:
    if not tz:
        return None
    if tz.upper() in ("Z", "UTC", "GMT"):
        return UTC
    sign = -1 if tz[0] == "-" else 1
    digits = tz[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
    if hours > 14 or minutes > 59:
        return None
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _build(
    y: str,
    m: int,
    d: str,
    hh: str | None,
    mm: str | None,
    ss: str | None,
    frac: str | None = None,
    tz: str | None = None,
    ampm: str | None = None,
) -> datetime | None:
    year = int(y)
    if not 1970 <= year <= 2100:
        return None
    hour = int(hh or 0)
    if ampm:
        pm = ampm.lower().startswith("p") or ampm in ("下午", "晚上")
        if pm and hour < 12:
            hour += 12
        elif not pm and hour == 12 and ampm.lower().startswith("a"):
            hour = 0
    micro = int((frac or "0")[:6].ljust(6, "0"))
    try:
        return datetime(year, m, int(d), hour, int(mm or 0), int(ss or 0), micro, tzinfo=_tzinfo(tz))
    except ValueError:
        return None


def parse_date(text: str | None) -> datetime | None:
    """Parse ISO 8601, RFC 822, Chinese (``2021年08月24日 15:07``), English and epoch dates.

    The result is aware when the text carries an offset and naive otherwise. Returns None when nothing
    date-like is found; never raises.
    """
    if not text:
        return None
    text = text.strip()[:200]
    if _EPOCH_RE.fullmatch(text):
        seconds = int(text) / (1000 if len(text) == 13 else 1)
        return datetime.fromtimestamp(seconds, UTC)
    match = _ISO_RE.search(text) or _ISO_BASIC_RE.match(text)
    if match:
        g = match.group
        frac = g("f") if "f" in match.re.groupindex else None
        return _build(g("y"), int(g("m")), g("d"), g("H"), g("M"), g("S"), frac, g("tz"))
    match = _CJK_DATE_RE.search(text)
    if match:
        g = match.group
        return _build(g("y"), int(g("m")), g("d"), g("H"), g("M"), g("S"), ampm=g("ampm"))
    if "," in text[:5] or text[:3].isalpha():
        try:
            parsed = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            parsed = None
        if parsed is not None:
            return parsed
    for rx in (_EN_MDY_RE, _EN_DMY_RE):
        match = rx.search(text)
        if match and match.group("mon").lower() in _MONTHS:
            g = match.group
            month = _MONTHS[g("mon").lower()]
            return _build(g("y"), month, g("d"), g("H"), g("M"), g("S"), None, g("tz"), g("ampm"))
    return None
