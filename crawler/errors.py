"""The crawler's one error hierarchy: every error it raises on purpose is a `CrawlerError`, whose message is one line
an operator can act on (it names the feed, the URL or the config line).

    CrawlerError
      ConfigError        feeds.yaml (or a command's arguments) cannot be used; names the file and the line
      UsageError         a command line that cannot be carried out
      OpmlError          an OPML file that cannot be read
      FetchError         an HTTP request failed; `kind` (a FetchKind) says how and whether a retry may succeed
      AddressRefused     a connection to an address the address policy forbids
      ProbeError         `crawler feeds add`: no feed found at a URL
      FeedError          the bytes of a feed are not a feed
      ExtractError       a page yields no article body
      TrackingRulesError the ClearURLs rules could not be loaded
      ArchiveError       a file of the archive could not be written or read
      StoreError         the state database cannot be used
      WorkerCrashed      a worker process died during a job
      RefetchError       `crawler refetch` cannot select what was asked
      DaemonError        `crawler run` cannot start or keep running

Each class lives beside the stage that raises it; this module is only the root, so that a caller can catch every
error the crawler raises on purpose, and nothing else, with one `except CrawlerError`.
"""

from __future__ import annotations


class CrawlerError(Exception):
    """An error the crawler raises on purpose; `str(error)` is the one line an operator reads."""
