"""The console's pages as HTML text: pure functions of what data.py gathered. Every value that came from a feed,
a page or the state is escaped here (`_e`), and nothing on any page is a script."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from html import escape
from urllib.parse import quote, urlencode

from crawler.console import charts
from crawler.console.data import SORTS, STATES, Dashboard, FeedRow, TableView, day_series
from crawler.store.base import PendingEntry
from crawler.store.history import ArticleHit, FeedDay, PollRecord

_COLUMNS = (
    ("state", "state"),
    ("name", "feed"),
    ("last_success", "last success"),
    ("next_poll", "next poll"),
    ("failures", "failures"),
    ("archived", "archived"),
    ("pending", "pending"),
    ("selector", "selector"),
    ("error", "last error"),
)


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _when(moment: float | None) -> str:
    if moment is None:
        return '<span class="none">never</span>'
    stamp = datetime.fromtimestamp(moment, UTC)
    return f'<time datetime="{stamp.isoformat()}">{stamp:%Y-%m-%d %H:%M}</time>'


def layout(title: str, body: str, *, current: str = "") -> str:
    """A whole page: the header with its links, then `body`."""
    links = "".join(
        f'<a href="{href}"{" aria-current=page" if current == href else ""}>{label}</a>'
        for href, label in (("/", "Dashboard"), ("/articles", "Articles"))
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{_e(title)} · crawler</title><link rel="stylesheet" href="/static/console.css"></head>'
        f"<body><header><strong>crawler</strong><nav>{links}</nav></header><main>{body}</main></body></html>"
    )


def _query(view: TableView, **changes: str) -> str:
    values = {
        "sort": view.sort,
        "order": "desc" if view.descending else "asc",
        "q": view.text,
        "state": view.state,
        "rows": "all" if view.per_page <= 0 else "",
    }
    values.update(changes)
    return "?" + urlencode({k: v for k, v in values.items() if v and not (k == "order" and v == "asc")})


def dashboard_page(data: Dashboard, view: TableView, now: float) -> str:
    """The dashboard: plots over every feed, then the table of feeds as `view` arranges it, a page at a time."""
    rows = data.shown
    by_state = Counter(row.state for row in data.rows)  # one pass over every feed, not one per state
    counts = {state: by_state[state] for state in STATES}
    summary = " · ".join(f"{counts[s]} {s}" for s in STATES if counts[s])
    plots = (
        '<section class="plots"><figure id="plot-archived"><figcaption>Articles archived per day (all feeds, '
        f"{len(data.archived)} days)</figcaption>{charts.bar_chart('Articles archived per day', data.archived)}"
        '</figure><figure id="plot-polls"><figcaption>Polls per day by outcome</figcaption>'
        f"{charts.stacked_outcomes('Polls per day by outcome', data.polls)}</figure></section>"
    )
    state_options = "".join(
        f'<option value="{s}"{" selected" if view.state == s else ""}>{s} ({counts[s]})</option>' for s in STATES
    )
    form = (
        '<form class="filter" method="get" action="/">'
        f'<input type="search" name="q" value="{_e(view.text)}" placeholder="name, URL or error">'
        f'<select name="state"><option value="">every state</option>{state_options}</select>'
        f'<input type="hidden" name="sort" value="{_e(view.sort)}">'
        '<button type="submit">Filter</button></form>'
    )
    head = "".join(_column_head(key, label, view) for key, label in _COLUMNS) + "<th>30 days</th>"
    body = "".join(_feed_row(row, now) for row in rows)
    table = (
        f'<table id="feeds" class="feeds"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'
        if rows
        else '<p class="empty">No feed matches.</p>'
    )
    text = (
        f"<h1>Feeds</h1><p class=summary>{len(data.rows)} feeds: {summary or 'none'}; {data.matched} shown"
        f"{_pages_note(data, view)}.</p>{plots}{form}{table}{_table_pages(data, view)}"
    )
    return layout("Dashboard", text, current="/")


def _pages_note(data: Dashboard, view: TableView) -> str:
    if view.per_page <= 0 or data.matched <= view.per_page:
        return ""
    first = (view.page - 1) * view.per_page + 1
    return f", {first}-{first + len(data.shown) - 1} on this page"


def _table_pages(data: Dashboard, view: TableView) -> str:
    if view.per_page <= 0 or data.matched <= view.per_page:
        return ""
    last = (data.matched + view.per_page - 1) // view.per_page
    links = []
    if view.page > 1:
        links.append(f'<a rel="prev" href="{_e(_query(view, page=str(view.page - 1)))}">previous</a>')
    links.append(f"page {view.page} of {last}")
    if view.page < last:
        links.append(f'<a rel="next" href="{_e(_query(view, page=str(view.page + 1)))}">next</a>')
    links.append(f'<a href="{_e(_query(view, rows="all"))}">all {data.matched} on one page</a>')
    return f'<nav class="pages">{" · ".join(links)}</nav>'


def _column_head(key: str, label: str, view: TableView) -> str:
    descending = view.sort == key and not view.descending
    arrow = (" ▼" if view.descending else " ▲") if view.sort == key else ""
    href = _query(view, sort=key, order="desc" if descending else "asc")
    sorted_by = ' aria-sort="descending"' if view.sort == key and view.descending else ""
    sorted_by = sorted_by or (' aria-sort="ascending"' if view.sort == key else "")
    return f'<th{sorted_by}><a href="{_e(href)}">{label}{arrow}</a></th>'


def _feed_row(row: FeedRow, now: float) -> str:
    selector = (
        f'<span title="missed on {row.selector_missed} of its last {row.selector_checked} pages">'
        f"{_e(row.selector)} ({row.selector_missed}/{row.selector_checked})</span>"
        if row.selector
        else ""
    )
    pending = f"{row.pending}" + (f' <span class="bad">({row.failing} failing)</span>' if row.failing else "")
    return (
        f'<tr class="state-{row.state}" data-feed="{_e(row.name)}">'
        f'<td><span class="badge state-{row.state}">{row.state}</span></td>'
        f'<td><a href="/feeds/{quote(row.name, safe="")}">{_e(row.name)}</a></td>'
        f"<td>{_when(row.last_success)}</td><td>{_when(row.next_poll)}</td>"
        f'<td class="num">{row.failures}</td><td class="num">{row.archived}</td><td class="num">{pending}</td>'
        f"<td>{selector}</td><td class=error>{_e(row.last_error or '')}</td>"
        f"<td>{charts.sparkline(row.spark)}</td></tr>"
    )


def feed_page(
    row: FeedRow,
    polls: Sequence[PollRecord],
    days: Sequence[FeedDay],
    first: date,
    last: date,
    failing: Sequence[PendingEntry],
    articles: Sequence[ArticleHit],
) -> str:
    """One feed's history: its plots, its polls, its errors, its articles."""
    archived, per_day = day_series(days, first, last)
    points = [charts.PollPoint(p.at, p.seconds, p.outcome, p.error) for p in reversed(polls)]
    facts = (
        f"<dl class=facts><dt>URL</dt><dd>{_link(row.url)}</dd><dt>state</dt>"
        f'<dd><span class="badge state-{row.state}">{row.state}</span></dd>'
        f"<dt>last success</dt><dd>{_when(row.last_success)}</dd><dt>next poll</dt><dd>{_when(row.next_poll)}</dd>"
        f"<dt>failures in a row</dt><dd>{row.failures}</dd><dt>archived</dt><dd>{row.archived}</dd>"
        f"<dt>pending</dt><dd>{row.pending}</dd><dt>last error</dt><dd class=error>{_e(row.last_error or '')}</dd></dl>"
    )
    plots = (
        '<section class="plots"><figure id="plot-feed-polls"><figcaption>Polls: when, how long, outcome'
        f"</figcaption>{charts.poll_scatter('Polls over time', points)}</figure>"
        '<figure id="plot-feed-archived"><figcaption>Articles archived per day</figcaption>'
        f"{charts.bar_chart('Articles archived per day', archived)}</figure>"
        '<figure id="plot-feed-outcomes"><figcaption>Polls per day by outcome</figcaption>'
        f"{charts.stacked_outcomes('Polls per day by outcome', per_day)}</figure></section>"
    )
    poll_rows = "".join(
        f'<tr class="outcome-{_e(p.outcome)}"><td>{_when(p.at)}</td><td>{_e(p.outcome)}</td>'
        f'<td class="num">{p.seconds:.2f}s</td><td class="num">{p.new}</td><td class="num">{p.failed}</td>'
        f"<td class=error>{_e(p.error or '')}</td></tr>"
        for p in polls
    )
    poll_table = (
        '<table id="polls"><thead><tr><th>when</th><th>outcome</th><th>took</th><th>new</th><th>failed</th>'
        f"<th>error</th></tr></thead><tbody>{poll_rows}</tbody></table>"
        if polls
        else '<p class="empty">No poll logged yet.</p>'
    )
    errors = "".join(
        f"<li>{_link(entry.link) if entry.link else _e(entry.key)}: {entry.attempts} attempts: "
        f"<span class=error>{_e(entry.last_error or '')}</span></li>"
        for entry in failing
    )
    error_list = f'<ul id="failing">{errors}</ul>' if errors else '<p class="empty">No article is failing.</p>'
    more = f'<p><a href="/articles?feed={quote(row.name, safe="")}">All its articles</a></p>'
    text = (
        f"<h1>{_e(row.name)}</h1>{facts}{plots}<h2>Polls</h2>{poll_table}<h2>Articles failing</h2>{error_list}"
        f"<h2>Articles</h2>{article_list(articles)}{more}"
    )
    return layout(row.name, text)


def _link(url: str | None) -> str:
    if not url:
        return ""
    href = url if url.startswith(("http://", "https://")) else "#"
    return f'<a href="{_e(href)}" rel="noreferrer noopener">{_e(url)}</a>'


def article_list(hits: Sequence[ArticleHit]) -> str:
    """Articles, one item each: title linking to its page, feed, date, the start of its text."""
    if not hits:
        return '<p class="empty">No article.</p>'
    items = "".join(
        f'<li class="article" data-id="{_e(h.article_id)}"><a href="/articles/{quote(h.article_id, safe="")}">'
        f"{_e(h.title or h.article_id)}</a> <span class=meta>{_e(h.feed or '')} · "
        f"{_when(h.published if h.published is not None else h.archived_at)}</span>"
        f'<p class="summary">{_e(h.summary)}</p></li>'
        for h in hits
    )
    return f'<ol id="articles" class="articles">{items}</ol>'


def articles_page(
    hits: Sequence[ArticleHit], params: Mapping[str, str], page: int, more: bool, error: str | None = None
) -> str:
    """The archive: a search form, the articles found (newest first), links to the pages before and after."""
    form = (
        '<form class="filter" method="get" action="/articles">'
        f'<input type="search" name="q" value="{_e(params.get("q", ""))}" placeholder="search title and text">'
        f'<input type="text" name="feed" value="{_e(params.get("feed", ""))}" placeholder="feed">'
        f'<input type="date" name="since" value="{_e(params.get("since", ""))}">'
        '<button type="submit">Search</button></form>'
    )
    nav = []
    if page > 1:
        nav.append(f'<a rel="prev" href="/articles?{_e(urlencode({**params, "page": str(page - 1)}))}">newer</a>')
    if more:
        nav.append(f'<a rel="next" href="/articles?{_e(urlencode({**params, "page": str(page + 1)}))}">older</a>')
    problem = f'<p class="bad">{_e(error)}</p>' if error else ""
    body = f"<h1>Articles</h1>{form}{problem}{article_list(hits)}<nav class=pages>{' '.join(nav)}</nav>"
    return layout("Articles", body, current="/articles")


def article_page(hit: ArticleHit, front: Mapping[str, object], body: str, original: str | None) -> str:
    """One archived article: its front matter as a header, its body as archived inside a sandboxed frame (which,
    with the page's policy, runs no script of it), links to the original and to the file."""
    fields = "".join(f"<dt>{_e(key)}</dt><dd>{_e(_value(value))}</dd>" for key, value in front.items())
    links = f'<a href="/articles/{quote(hit.article_id, safe="")}/file">the archive file ({_e(hit.path)})</a>'
    if original:
        links = f"{_link(original)} · {links}"
    frame_doc = (
        '<!doctype html><html><head><meta charset="utf-8"><link rel="stylesheet" href="/static/article.css">'
        f"</head><body>{body}</body></html>"
    )
    text = (
        f'<article><h1>{_e(hit.title)}</h1><dl class="front">{fields}</dl><p class="links">{links}</p>'
        f'<iframe class="body" title="the archived body" sandbox="" referrerpolicy="no-referrer" '
        f'srcdoc="{_e(frame_doc)}"></iframe></article>'
    )
    return layout(hit.title or hit.article_id, text)


def _value(value: object) -> str:
    if isinstance(value, bool):  # as the file says it
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


def message_page(title: str, text: str) -> str:
    """A page saying one thing (not found, a bad request)."""
    return layout(title, f"<h1>{_e(title)}</h1><p>{_e(text)}</p>")


def valid_sort(name: str) -> str:
    """`name` if the table can sort by it, else the default."""
    return name if name in SORTS else "state"
