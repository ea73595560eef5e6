"""Log lines a person can read and a machine can parse: one line per event, the event's keys after it.

The pipeline and the daemon log with `extra={"feed": ..., "url": ..., "status": ..., "elapsed": ...}`; these
formatters render every such key, in the order given, either as `key=value` pairs after the message (text) or as
one JSON object per line (json):

    2024-05-01T08:00:00.123Z INFO poll feed=bbc-world url=https://... status=ok elapsed=0.42 new=3
    {"time": "2024-05-01T08:00:00.123Z", "level": "info", "event": "poll", "feed": "bbc-world", ...}
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Literal, TextIO

LogFormat = Literal["text", "json"]

# Attributes every LogRecord has; anything else on a record came from `extra=` and is one of the event's keys.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}
_BARE = re.compile(r"[^\s\"'=\\]+\Z")
# Libraries that log every request at INFO would drown the crawler's own lines.
_CHATTY = ("httpx", "httpcore", "apscheduler", "hpack")
# What a terminal acts on or a reader misreads rather than sees: C0 (ESC, newlines, ...), DEL, C1, the bidirectional
# controls, the line and paragraph separators, and lone surrogates.
_UNSEEN = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069\ud800-\udfff]")


def visible(text: str) -> str:
    """`text` with every character a terminal would act on or a reader would not see (see _UNSEEN) written as a
    JSON escape (`\u001b`): what a feed or a page says can neither clear the screen, set the terminal's title nor
    start a line of its own. The escapes are valid inside a JSON string, so JSON output goes through this too."""
    return _UNSEEN.sub(_escape, text)


def _escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def event_fields(record: logging.LogRecord) -> dict[str, object]:
    """The keys an event was logged with (`extra=`), in the order given."""
    return {key: value for key, value in vars(record).items() if key not in _STANDARD and not key.startswith("_")}


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _plain(value: object) -> object:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(item) for item in value]
    return str(value)


def _text_value(value: object) -> str:
    plain = _plain(value)
    if isinstance(plain, str):
        # Quote anything with spaces, quotes or '=' so a line always splits back into the same pairs.
        return plain if _BARE.match(plain) else json.dumps(plain, ensure_ascii=False)
    if isinstance(plain, list):
        return json.dumps(plain, ensure_ascii=False, separators=(",", ":"))
    return json.dumps(plain)


class TextFormatter(logging.Formatter):
    """`TIME LEVEL event key=value ...`, one line; values with spaces are JSON-quoted."""

    def format(self, record: logging.LogRecord) -> str:
        """Render one record as one line."""
        parts = [_timestamp(record), record.levelname, record.getMessage()]
        parts += [f"{key}={_text_value(value)}" for key, value in event_fields(record).items()]
        if record.exc_info:
            parts.append(f"exception={_text_value(self.formatException(record.exc_info))}")
        # Values quoted above have their newlines escaped already; a bare one may still hold an ESC or a C1 control.
        return visible(" ".join(parts))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, event, logger, then the event's keys."""

    def format(self, record: logging.LogRecord) -> str:
        """Render one record as one JSON line."""
        data: dict[str, object] = {
            "time": _timestamp(record),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
            "logger": record.name,
        }
        for key, value in event_fields(record).items():
            data.setdefault(key, _plain(value))
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        # json.dumps escapes C0 only; DEL, C1 and bidirectional controls would reach the terminal raw.
        return visible(json.dumps(data, ensure_ascii=False))


class PlainFormatter(logging.Formatter):
    """The CLI's `LEVEL message` lines (and tracebacks), each line made `visible`: an exception's message may quote
    what a feed said. With `fields`, the event's keys follow the message as `key=value` pairs, as in the daemon's
    text log (`INFO archived feed=news url=... path=... how=selector`)."""

    def __init__(self, fmt: str | None = None, *, fields: bool = False) -> None:
        super().__init__(fmt)
        self._fields = fields

    def format(self, record: logging.LogRecord) -> str:
        """Render one record, every line of it escaped."""
        text = super().format(record)
        if self._fields:
            head, newline, rest = text.partition("\n")
            pairs = " ".join(f"{key}={_text_value(value)}" for key, value in event_fields(record).items())
            text = f"{head} {pairs}{newline}{rest}" if pairs else text
        return "\n".join(visible(line) for line in text.split("\n"))


def setup_logging(fmt: LogFormat, level: int = logging.INFO, stream: TextIO | None = None) -> None:
    """Send every log record to `stream` (stderr by default) in the chosen format, replacing other handlers."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in _CHATTY:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
