"""Page metadata from structured data first, then visible bylines and datelines.

Per field the sources are tried in this order: JSON-LD (NewsArticle and kin, ``@graph`` included), Open Graph
and ``article:*`` meta, Twitter cards, other ``<meta>`` names (Dublin Core, sailthru, Parse.ly, ...),
microdata (``itemprop``), then what a reader sees: bylines and datelines, Chinese forms included.

Everything here treats the page as hostile: bad JSON, huge attributes, absurd dates and deep nesting must
give ``None`` for a field, never an exception.

One module a job: ``structured`` reads what the markup declares (one CSS pass over the tree), ``dates`` parses date
text, ``datelines`` and ``bylines`` read what a reader sees, ``authors``, ``titles`` and ``images`` choose those
fields, and ``fields`` puts PageMeta together.
"""

from crawler.extract.metadata.authors import author_name
from crawler.extract.metadata.dates import parse_date
from crawler.extract.metadata.fields import PageMeta, page_metadata

__all__ = ["PageMeta", "author_name", "page_metadata", "parse_date"]
