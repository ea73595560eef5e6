"""Automatic main-content extraction for pages without a configured selector.

The approach borrows ideas from Readability (paragraph scores propagated to ancestors, class/id hints,
conditional cleaning), jusText (paragraphs = text grouped by nearest block ancestor, link density) and GNE
(text density is a strong signal for Chinese news pages), implemented directly on selectolax/Lexbor.

One module per job, in the order they run: `preclean` (what is never article), `scoring` (which block is the
article), `guide` (the feed item's title and teaser as a signal), `cleaning` (Readability's widgets inside the
block), `inside` (the boilerplate that sits inside the article's own block, by the rules of `boilerplate`),
`fallback` (pages with nothing to score); `names` and `text` are the shared vocabulary.

Speed matters: the heavy lifting is done by Lexbor (CSS selection, ``text()``, serialisation) and every
Python loop is linear in the number of nodes. Nothing recurses in Python, so pathologically deep pages are
safe. Removal always goes through :func:`text.drop`, which removes descendants before ancestors so that no
Python handle ever points into a freed subtree.
"""

from crawler.extract.auto.extract import extract_main, main_html, main_nodes
from crawler.extract.auto.fallback import largest_prose
from crawler.extract.auto.guide import FeedHint

__all__ = ["FeedHint", "extract_main", "largest_prose", "main_html", "main_nodes"]
