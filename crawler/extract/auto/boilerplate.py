"""The boilerplate that sits inside an article's own block, told by name and by text: pure decisions on strings.

Kinds, as an outside evaluation found them on English news pages: image captions and photo credits, bylines and
datelines, share bars, "related" / "more from" lists, newsletter boxes, ad slots. The vocabulary comes from how
trafilatura (its discard XPaths: ``byline``, ``share-``, ``elated``, ``caption``, ``newsletter``, ``-ad-``),
Readability (``unlikelyCandidates``, the byline test) and jusText (short, link-heavy "bad" paragraphs) decide;
:mod:`crawler.extract.auto.inside` applies it to the tree.
"""

from __future__ import annotations

import re
from enum import StrEnum

from crawler.extract.auto.names import trie_pattern


class Kind(StrEnum):
    """What a piece of boilerplate is; the kind decides how large it may be and where it may sit."""

    CREDIT = "credit"  # "Photo: Jane Doe/Getty Images", "© Reuters"
    CAPTION = "caption"  # a caption outside any <figure>; inside one it describes the figure and stays
    BYLINE = "byline"  # "By Jane Doe", the author box, "Submitted on ..."
    DATELINE = "dateline"  # "May 20, 2019", "Updated 0203 GMT", "8 min read"
    SHARE = "share"  # share bars and their labels
    RELATED = "related"  # "Related", "More from", "Read more" and their lists of links
    NEWSLETTER = "newsletter"  # sign-up and subscribe boxes
    AD = "ad"  # ad slots and their "Advertisement" labels
    LABEL = "label"  # text for screen readers only ("Image caption", "Close")


# How much text a block named like each kind may hold and still go: a class name is a hint, and a hint on a
# large block ("article-body share-enabled") says less about the block than its text does.
NAME_MAX_CHARS: dict[Kind, int] = {
    Kind.CREDIT: 200,
    Kind.CAPTION: 400,
    Kind.BYLINE: 250,
    Kind.DATELINE: 120,
    Kind.SHARE: 300,
    Kind.RELATED: 2000,  # link lists can be long; they must also be mostly links (see inside.py)
    Kind.NEWSLETTER: 600,
    Kind.AD: 300,
    Kind.LABEL: 60,
}

# Class/id fragments per kind, lower-cased; the first kind that matches wins, so credit comes before caption
# ("caption__credit") and caption before the rest.
_NAME_WORDS: tuple[tuple[Kind, str], ...] = (
    (Kind.LABEL, "off-screen offscreen sr-only screen-reader screenreader visually-hidden visuallyhidden a11y"),
    (Kind.CREDIT, "credit copyright photographer photo-source image-source imagesource img-source"),
    (Kind.CAPTION, "caption gallerycaption wp-caption-text image-desc img-desc photo-desc pic-desc"),
    (
        Kind.BYLINE,
        "byline by-line author writtenby written-by submitted posted-by postedby contributor "
        "article-info article-meta entry-meta post-meta meta-info",
    ),
    (
        Kind.DATELINE,
        "dateline timestamp time-stamp pubdate pub-date publish-date published-date publishdate post-date "
        "article-date entry-date read-time reading-time readtime",
    ),
    (Kind.SHARE, "share sharing sharethis addthis social sociable tweet-this follow-us"),
    (
        Kind.RELATED,
        "related more-from more-on more-stories morestories read-more readmore read-next readnext "
        "recommend also-read see-also most-popular most-read mostread trending further-reading outbrain "
        "taboola you-may you-might up-next playlist carousel",
    ),
    (Kind.NEWSLETTER, "newsletter subscribe subscription signup sign-up optin opt-in email-capture donate donation"),
    (Kind.AD, "advert sponsor promo dfp adslot ad-slot ad-unit adunit ad-container ad-wrapper adsense teads"),
)
_NAME_RES = tuple((kind, re.compile(trie_pattern(words))) for kind, words in _NAME_WORDS)
# Every word of every kind in one trie: most class names match none, and one search tells so.
_ANY_NAME_RE = re.compile(trie_pattern(" ".join(words for _, words in _NAME_WORDS)))
# "ad" alone, "ads", "ad-..." and "...-ad" as whole class tokens: "ad" inside a word ("head", "badge") is not one.
# It starts with no literal, so re tries it at every position of the string: name_kind runs it only where "ad" is.
_AD_TOKEN_RE = re.compile(r"(?:^|[\s_-])ads?(?:$|[\s_-])")
# Names that mark the article itself: an "article-body" that also says "share-enabled" is not a share bar.
_CONTENT_RE = re.compile(trie_pattern("article-body articlebody article__body story-body post-body entry-content"))

_CAPTION_BEFORE_CREDIT = 20  # characters of description before a credit make the line a caption
_CACHE_LIMIT = 20_000
_name_cache: dict[str, Kind | None] = {}


def name_kind(hint: str) -> Kind | None:
    """The boilerplate kind a class/id string names, or None."""
    if hint in _name_cache:
        return _name_cache[hint]
    low = hint.lower()
    kind: Kind | None = None
    if not _CONTENT_RE.search(low):
        if _ANY_NAME_RE.search(low):
            kind = next((k for k, regex in _NAME_RES if regex.search(low)), None)
        if kind is None and "ad" in low and _AD_TOKEN_RE.search(low):
            kind = Kind.AD
    if len(_name_cache) > _CACHE_LIMIT:
        _name_cache.clear()
    _name_cache[hint] = kind
    return kind


# --- text -----------------------------------------------------------------------------------------------

_AGENCIES = (
    r"Getty\s*Images|AFP|Reuters|AP(?:\s*Photo)?|EPA(?:-EFE)?|Shutterstock|iStock(?:photo)?|Alamy|Bloomberg|"
    r"Xinhua|Anadolu|PA(?:\s*Wire|\s*Images)?|Corbis|Unsplash|Pixabay|Wikimedia\s*Commons|NurPhoto|SOPA\s*Images"
)
# A credit: a label and a name ("Photo: Jane Doe", "Credit: Funko", "Foto: LA NACION", "图/pixabay"), a
# copyright sign, or a short line ending with an agency ("Kevin Frayer/Getty Images").
_CREDIT_RE = re.compile(
    r"^\(?\s*(?:(?:photo(?:graph)?s?|image|picture|pic|foto|bild|credit|illustration|graphic|artist|"
    r"source|screenshot|courtesy)\s*(?:by|credit|courtesy(?:\s+of)?)?\s*[:：|]|(?:photo|image|screenshot|"
    r"illustration)\s+(?:by|courtesy\s+of)\s|[©ⓒ]|\(c\)\s|copyright\s|图\s*[/／:：]|图片\s*[:：来]|摄影\s*[:：/]|"
    r"图片来源|来源\s*[:：])"
    rf"|(?:^|[\s/|,(])(?:{_AGENCIES})\s*\)?\.?$",
    re.I,
)
# The same credit at the end of a caption that describes its figure: "A street in Huwara. Photograph: Dan
# Kitwood/Getty Images". Only a labelled credit or an agency at the very end is cut.
_TRAILING_CREDIT_RE = re.compile(
    r"(?:(?<=[.!?)”\"])|\s[|/–—-])\s*\(?(?:(?:photo(?:graph)?|image|picture|foto|credit|illustration)\s*"
    r"(?:by|credit)?\s*:|[©ⓒ]).{1,80}$"
    rf"|\s*[(|/]?\s*(?:[\w.'’ -]{{1,40}}\s*/\s*)?(?:{_AGENCIES})\s*\)?\.?$",
    re.I,
)
_AD_LABEL_RE = re.compile(
    r"^(?:advertisement|advertising|advert|ad|ads|sponsored(?: content)?|paid (?:content|post)|"
    r"(?:story|article) continues below(?: advertisement)?|continue reading (?:below|the main story)|"
    r"scroll to continue(?: with content)?|inread invented by teads|广告|推广)\s*:?$",
    re.I,
)
_SHARE_WORDS = (
    r"share|shares|share this(?: article| story| post| page)?|share on|share via|tweet|email|e-mail|print|"
    r"copy link|copy|link|facebook|twitter|x|linkedin|whatsapp|pinterest|reddit|flipboard|telegram|messenger|"
    r"comments?|save|分享|微信|微博|朋友圈|QQ空间"
)
_SHARE_RE = re.compile(rf"^(?:(?:{_SHARE_WORDS})[\s:|/,·•]*)+$", re.I)
_SHARE_LABEL_RE = re.compile(r"\bshare\b|分享", re.I)
_RELATED_LABEL_RE = re.compile(
    r"^(?:related(?: articles?| stories| posts?| content| coverage| reading| links| news| topics)?|"
    r"more (?:from|on|about|in) .{1,50}|more (?:stories|news|articles)|read more(?: about .{1,50})?|"
    r"read next|see also|also read|read also|recommended(?: for you| stories| reading)?|"
    r"you (?:may|might) (?:also )?(?:like|enjoy|be interested in)|most (?:popular|read|viewed|shared)|"
    r"trending(?: now| stories)?|further reading|what to read next|up next|watch next|"
    r"【?関連記事】?|【?相关(?:阅读|新闻|文章|推荐|链接)】?|延伸阅读|推荐阅读|热门推荐|猜你喜欢)\s*[:：»›>]*$",
    re.I,
)
# A line that opens with a "related" label and goes on as a link: "Read more: Trump's courtroom strategy".
_RELATED_LEAD_RE = re.compile(
    r"^(?:related|read more|read also|also read|see also|more|recommended|watch|listen|相关阅读|延伸阅读)\s*[:：|»›]",
    re.I,
)
_NEWSLETTER_RE = re.compile(
    r"\b(?:sign up|signup|subscribe|newsletter|inbox|unsubscribe)\b|订阅|注册",
    re.I,
)
_BYLINE_RE = re.compile(
    r"^(?:by|par|por|von|di|door|av|af|written by|reviewed by|edited by|posted by|submitted by|submitted on|"
    r"reporting by|words by|story by)\s+\S"
    r"|^(?:作者|责任编辑|编辑|记者|撰文|文)\s*[:：/]"
    r"|^【?(?:责任编辑|纠错)",
    re.I,
)
_MONTHS = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|"
    r"oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|mon(?:day)?|tue(?:sday)?|wed(?:nesday)?|thu(?:rsday)?|"
    r"fri(?:day)?|sat(?:urday)?|sun(?:day)?"
)
# What a dateline is made of; a short line of nothing else (and at least one digit) is one.
_DATE_PART_RE = re.compile(
    rf"\b(?:{_MONTHS}|updated|published|posted|last|modified|on|at|am|pm|a\.m\.|p\.m\.|gmt|utc|[ecmp][sd]t|"
    r"bst|cet|cest|hkt|jst|ist|et|pt|min(?:ute)?s?|read|hours?|days?|ago|first|today|yesterday|time)\b"
    r"|\d+(?:st|nd|rd|th)?|[年月日时分秒号:：.,/|·•()\-–—+]|发布时间|发稿时间|更新时间|时间",
    re.I,
)

# What makes it a date and not a lone number: a month or weekday beside a number, a numeric date, a clock time,
# a CJK date, or a reading time.
_DATE_CORE_RE = re.compile(
    rf"\b(?:{_MONTHS})\b\.?\s*\d|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:{_MONTHS})\b|\d{{1,4}}[-/.]\d{{1,2}}[-/.]\d{{1,4}}|"
    r"\b\d{1,2}:\d{2}\b|\d{1,4}\s*[年月]\s*\d{1,2}\s*[月日]|\b\d+\s*min(?:ute)?s?\s+read\b|\b\d+\s+(?:hours?|days?)\s+ago\b",
    re.I,
)


def text_kind(text: str, *, edge: bool) -> Kind | None:
    """The boilerplate kind of a short block's whole text, or None. Bylines, datelines, labels of lists and
    newsletter prompts count only at the block's edges (``edge``): in the middle of an article a line like
    "By the river" or "March 3" is more likely the article's own."""
    if not text:
        return None
    if _AD_LABEL_RE.match(text):
        return Kind.AD
    if len(text) <= 160 and _CREDIT_RE.search(text) and not _ends_as_prose(text):
        start = trailing_credit(text)
        if start is None or start < _CAPTION_BEFORE_CREDIT:
            return Kind.CREDIT  # else a caption that ends with its credit: the credit alone is cut
    if len(text) <= 80 and _SHARE_RE.match(text) and (_SHARE_LABEL_RE.search(text) or len(text.split()) >= 2):
        return Kind.SHARE  # one word alone ("Twitter", "Link") may be the article's own
    if _RELATED_LABEL_RE.match(text):
        return Kind.RELATED
    if not edge:
        return None
    if len(text) <= 120 and _BYLINE_RE.match(text):
        return Kind.BYLINE
    if len(text) <= 80 and is_dateline(text):
        return Kind.DATELINE
    if len(text) <= 300 and _NEWSLETTER_RE.search(text):
        return Kind.NEWSLETTER
    return None


def related_lead(text: str) -> bool:
    """A line that opens with a "related" label ("Read more: ..."): boilerplate when the rest is a link."""
    return len(text) <= 200 and bool(_RELATED_LEAD_RE.match(text))


def is_dateline(text: str) -> bool:
    """A line made only of a date, a time and words like "Updated" or "min read", with a date or time in it."""
    return bool(_DATE_CORE_RE.search(text)) and not _DATE_PART_RE.sub("", text).strip()


def trailing_credit(text: str) -> int | None:
    """Where a credit at the end of a caption starts ("... in 2007. Photo: AP"), or None."""
    match = _TRAILING_CREDIT_RE.search(text)
    if match is None or match.start() == 0:
        return None
    return match.start()


def _ends_as_prose(text: str) -> bool:
    # "Source: the agency said on Monday that ..." is a sentence about a source, not a credit line.
    return len(text) > 60 and text.rstrip().endswith((".", "!", "?", "。")) and text.count(" ") > 10
