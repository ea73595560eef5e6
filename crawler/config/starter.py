"""`crawler init [DIR]`: a commented feeds.yaml and an archive folder, so the first `crawler feeds add` works.

The file names every top-level key with its default, commented out so a later release's better default still
applies; `archive` and `state` are written out because they say where the operator's data lives. The test suite
checks that every key of the config model is here and that uncommenting them all changes nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from crawler.config.load import parse_config
from crawler.config.settings import ConfigError

TEMPLATE = """\
# feeds.yaml: the feeds to archive and how. `crawler check` validates it; `crawler feeds add NAME URL` adds a feed
# (keeping these comments). Durations: 500ms, 10s, 10m, 1h, 1d. Each commented key shows its default.

archive: archive                  # folder for the Markdown files, relative to this file
state: .crawler/state.db          # the SQLite state database, relative to this file, or postgresql://USER@HOST/DB
# lease: 1m                       # with PostgreSQL: a node's lease on a feed (a dead node's feeds move on after it)
# archive_timezone: UTC           # time zone of the archive's YYYY/MM/DD folders (never of the `date` field)
# allow_private_addresses: false  # let article links reach loopback or private addresses (also per feed)
# min_interval: 5m                # the shortest time between two polls of one feed
# max_interval: 1d                # the longest time a feed's <ttl> or caching headers may stretch its interval to
# workers: auto                   # processes that parse pages: auto (one per CPU, at most four) or 0 to 64

# http:                           # how requests are made
#   timeout: 1m                   # total time for one request, body included
#   connect_timeout: 10s          # time to open a connection
#   read_timeout: 30s             # silence allowed between two reads
#   retries: 3                    # retries of a failed request within one poll
#   backoff: 1s                   # the first retry's wait; it doubles, with jitter
#   max_retry_after: 10m          # the longest Retry-After waited for; beyond it, the poll gives up
#   max_bytes: 10MB               # larger bodies are refused
#   max_redirects: 10             # redirects followed for one request
#   user_agent: null              # replaces the whole User-Agent
#   contact: null                 # a URL in the default User-Agent, so sites can reach you
#   proxy: null                   # such as http://proxy:3128 or socks5://proxy:1080 (also per feed)
#   http2: true                   # HTTP/2 where the server offers it

# politeness:                     # kindness to the sites crawled
#   per_host: 2                   # requests at once to one host (at most 10)
#   delay: 1s                     # between two request starts to one host
#   robots: true                  # honour robots.txt for article pages
#   max_connections: 50           # requests at once, all hosts together
#   hosts: {}                     # per-host overrides, such as www.example.com: {per_host: 1, delay: 5s}

# warc:                           # raw records of what was archived from (feeds with `raw: warc`)
#   node: null                    # this machine's name in the WARC files' names (null: the host name)
#   max_size: 1GB                 # a WARC file is closed at this size (and each day) and the next one begun
# assets:                         # kept images (feeds with `images: keep`), in archive/assets/
#   url: /assets/                 # the URL prefix the published site serves them at
#   max_bytes: 5MB                # a larger image keeps its remote URL

# defaults: {}                    # any per-feed key, for every feed that does not set it, such as {interval: 1h}

# Each feed: a unique name (lowercase letters, digits, '.', '_' and '-') and its URL; every other key is optional.
#   - name: example
#     url: https://example.com/feed.xml
#     title: Example                # for people and OPML export
#     categories: [news, world]     # written first in every article's front matter
#     body: "#article"              # CSS selector of the article body (quoted: YAML reads a bare # as a comment)
#     interval: 30m                 # time between polls
#     raw: none                     # warc: keep the pages and the feed as received, in archive/_warc/
#     images: link                  # keep: fetch the body's images and keep them in archive/assets/
feeds: []
"""


@dataclass(frozen=True)
class Created:
    """What `init` made: the config file and the archive folder (None when it was there already)."""

    config: Path
    archive: Path | None


def init(folder: Path, name: str = "feeds.yaml") -> Created:
    """Write TEMPLATE to `folder/name` (`folder` made when missing) and make its archive folder; ConfigError when the
    file exists (it is never overwritten) or cannot be written."""
    path = folder / name
    config = parse_config(TEMPLATE, path)  # the template must always be valid; this also resolves the archive
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # O_EXCL: a file that appears between a look and the write is still never overwritten.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    except FileExistsError:
        raise ConfigError(f"{path}: already exists; not overwritten (edit it, or remove it first)") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot create it: {exc.strerror or exc}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(TEMPLATE)
    made = None if config.archive.is_dir() else config.archive
    try:
        config.archive.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{config.archive}: cannot create the archive folder: {exc.strerror or exc}") from None
    return Created(config=path, archive=made)
