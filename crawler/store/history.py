"""History and search: what the state keeps for the web console, and the pure rules for it.

The poll log (`PollRecord`, one row per poll, bounded), per-day totals per feed (`FeedDay`: polls by outcome and
articles archived, bounded to HISTORY_DAYS) and a full-text index of archived articles (`ArticleText` in,
`ArticleHit` out). A backend keeps them with each poll and each commit (store/base.py's history section);
tests/store/test_history_contract.py is what it must do.

Search works for English and for Chinese, Japanese and Korean, which are written without spaces between words: the
text is turned into index terms here, the same way for the index and for a query. SQLite's FTS5 index holds each CJK
character as a term of its own (`character_terms`), and a query's CJK run is the phrase of its characters, found
where they stand side by side (a single character is a term). PostgreSQL's tsvector keeps at most 255 positions of a
term, too few for a common character in a long text, so there runs of CJK characters become overlapping bigrams and
each run's last character a single term (`index_terms`): a query of two characters (经济) is one bigram term, a
longer one a phrase of bigrams, a single character a prefix. Other text goes to the backend's word tokenizer as it
is (SQLite: FTS5's unicode61 with the Porter stemmer; PostgreSQL: its default parser with an English Snowball stemmer
and no stop words, store/postgres_history.py). Measured in bench/console.py and bench/throughput.py: FTS5's trigram
tokenizer cannot find a two-character word at all, and single characters cost a quarter of bigrams to index in FTS5
(0.8 against 3.0 ms of CPU an article of 5,000 characters) in a third of the space.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

HISTORY_DAYS = 90  # days of per-day totals and of poll log kept
POLLS_KEPT_PER_FEED = 500  # the poll log keeps at most this many polls of each feed (a 5-minute feed: about 2 days)
INDEXED_TEXT_CHARS = 200_000  # an article's body text beyond this is not indexed (the title always is)
SUMMARY_CHARS = 240  # the start of an article's text kept beside the index, to show in search results
DAY_SECONDS = 86_400

# Han (with extensions and compatibility), Hiragana, Katakana (and its phonetic extensions, half-width forms),
# Hangul syllables and jamo, Bopomofo, CJK symbols' iteration mark 々 and the prolonged sound mark ー.
_CJK = (
    "\u1100-\u11ff\u3005\u3007\u3021-\u3029\u3031-\u3035\u3040-\u309f\u30a0-\u30ff\u3100-\u312f\u3130-\u318f"
    "\u31a0-\u31bf\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff66-\uff9f"
    "\U00020000-\U0002fa1f\U00030000-\U0003134f"
)
_CJK_RUN = re.compile(f"[{_CJK}]+")
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class PollRecord:
    """One poll of one feed, as the poll log keeps it."""

    feed: str
    at: float  # when it started (epoch seconds)
    outcome: str  # PollOutcome's value: ok, not_modified, failed
    seconds: float  # how long it took, its articles included
    new: int = 0  # articles archived by it
    failed: int = 0  # articles that failed in it
    error: str | None = None  # its first error line, if any


@dataclass(frozen=True)
class FeedDay:
    """One feed's (or, with feed "", every feed's) totals for one UTC day."""

    feed: str
    day: date
    ok: int = 0
    not_modified: int = 0
    failed: int = 0
    archived: int = 0

    @property
    def polls(self) -> int:
        """Polls of that day, whatever their outcome."""
        return self.ok + self.not_modified + self.failed


@dataclass(frozen=True)
class ArticleText:
    """What the search index and the archive browser keep of an article, so that neither reads its file."""

    title: str
    text: str  # the body's visible text
    published: float | None = None  # the front matter's date (epoch seconds)


@dataclass(frozen=True)
class ArticleQuery:
    """Which archived articles to list: every filter optional; newest first, `limit` from `offset`."""

    text: str | None = None  # full-text search in title and body
    feed: str | None = None
    since: float | None = None  # published (or, without a date, archived) at or after this
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True)
class ArticleHit:
    """One archived article as the archive browser lists it."""

    article_id: str
    feed: str | None  # the feed that archived it; None when not known (rebuilt from files without its entry)
    title: str
    path: str
    published: float | None
    archived_at: float
    summary: str  # the start of its text


@dataclass(frozen=True)
class FeedSummary:
    """A feed's figures for the dashboard, in one bulk read: pending entries, those failing, and its articles
    archived (each file counted once, by the feed that archived it)."""

    pending: int = 0
    failing: int = 0
    archived: int = 0


def day_of(moment: float) -> date:
    """The UTC day of an epoch time."""
    return datetime.fromtimestamp(moment, UTC).date()


def day_number(day: date) -> int:
    """Days since 1970-01-01: how a day is stored."""
    return (day - date(1970, 1, 1)).days


def from_day_number(number: int) -> date:
    """The day stored as `number`."""
    return date(1970, 1, 1) + timedelta(days=number)


def first_kept_day(now: float) -> int:
    """The oldest day (as a number) the history keeps at `now`: HISTORY_DAYS days, today included."""
    return day_number(day_of(now)) - HISTORY_DAYS + 1


def index_terms(text: str) -> str:
    """`text` as the index should see it: each run of CJK characters replaced by its overlapping bigrams and its
    last character, space-separated; everything else as it is."""
    return _CJK_RUN.sub(lambda run: f" {_cjk_terms(run.group())} ", text)


def _cjk_terms(run: str) -> str:
    bigrams = [run[i : i + 2] for i in range(len(run) - 1)]
    return " ".join([*bigrams, run[-1]])


def character_terms(text: str) -> str:
    """`text` as an index of single CJK characters should see it: each CJK character a term of its own (a space on
    each side); everything else as it is. (A run split by punctuation reads as one run here: a query can match
    across it, a rare and harmless extra hit.)"""
    return _CJK_RUN.sub(lambda run: f" {' '.join(run.group())} ", text)


@dataclass(frozen=True)
class QueryTerm:
    """One thing a search asks for, whatever the backend: a word (its stem, by the backend's tokenizer), a phrase
    of CJK bigrams in order, or (`prefix`) a single CJK character that any term may start with."""

    text: str  # the word; the bigrams, space-separated; or the character
    phrase: bool = False
    prefix: bool = False
    characters: str = ""  # a phrase's CJK characters, space-separated (the terms of an index of characters)


def query_terms(text: str) -> list[QueryTerm]:
    """What a reader typed as the terms that must all occur (AND): words as they are, each CJK run as a phrase of
    its bigrams (one character: a prefix). Quotes and operators are dropped (only word characters are kept), so no
    backend ever sees them as syntax. Empty when the text has nothing to search for."""
    terms: list[QueryTerm] = []
    for piece in _CJK_RUN.split(text):
        terms.extend(QueryTerm(word) for word in _WORD.findall(piece) if word)
    for run in _CJK_RUN.findall(text):
        if len(run) == 1:
            terms.append(QueryTerm(run, prefix=True))
        else:
            bigrams = " ".join(run[i : i + 2] for i in range(len(run) - 1))
            terms.append(QueryTerm(bigrams, phrase=True, characters=" ".join(run)))
    return terms


def match_query(text: str) -> str | None:
    """An FTS5 MATCH expression for what a reader typed (`query_terms`), over an index of `character_terms`: every
    term must occur (AND); a CJK run is the phrase of its characters, or of its bigrams (the terms of rows indexed
    before 2026-12-05, until `crawler reindex` rewrites them); one character is any term starting with it; quotes
    and operators are taken literally. None when the text has nothing to search for."""
    parts = [_fts_term(term) for term in query_terms(text)]
    return " AND ".join(parts) or None


def _fts_term(term: QueryTerm) -> str:
    if term.prefix:
        return f'"{term.text}"*'
    if term.phrase:
        return f'("{term.characters}" OR "{term.text}")'
    return f'"{term.text}"'


def summary_of(text: str) -> str:
    """The start of an article's text, cut at a word where it can be, for a search result."""
    flat = " ".join(text.split())
    if len(flat) <= SUMMARY_CHARS:
        return flat
    cut = flat[:SUMMARY_CHARS]
    space = cut.rfind(" ")
    return (cut[:space] if space > SUMMARY_CHARS // 2 else cut) + "…"
