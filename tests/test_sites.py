"""Tests of crawler.sites: lookup by host and parent domains, and the shipped rules' validity."""

from __future__ import annotations

from pathlib import Path

import pytest
from selectolax.lexbor import LexborHTMLParser

from crawler.extract import sites
from crawler.extract.sites import SiteRule, rule_for

FIXTURES = Path(__file__).parent / "fixtures" / "extraction"


def test_sina_rule() -> None:
    rule = rule_for("https://finance.sina.com.cn/stock/2021-08-24/doc-abc.shtml")
    assert rule is not None
    assert rule.body[:2] == ("#artibody", "#article")
    assert {".appendQr_wrap", "#left_hzh_ad", ".app-kaihu-qr"} <= set(rule.remove)


@pytest.mark.parametrize(
    ("url", "domain_body"),
    [
        ("https://news.sina.com.cn/c/2019-09-07/doc.shtml", "#artibody"),
        ("https://tech.sina.com.cn/x.shtml", "#artibody"),  # parent domain sina.com.cn
        ("https://www.163.com/news/article/X.html", "#endText"),
        ("https://new.qq.com/omn/20190905/A.html", ".content-article"),
        ("https://www.bbc.co.uk/news/world-1", "main article"),
        ("https://WWW.BBC.COM./news/x", "main article"),
        ("https://www.theguardian.com/world/2019/jan/03/x", "[data-gu-name=body]"),
        ("https://www.nytimes.com/2017/01/13/world/x.html", "section[name=articleBody]"),
        ("http://www.xinhuanet.com/2019-09/09/c_1.htm", "#detail"),
        ("www.people.com.cn/n1/2019/0909/c1.html", "#rwb_zw"),
    ],
)
def test_lookup_by_domain_and_parent(url: str, domain_body: str) -> None:
    rule = rule_for(url)
    assert rule is not None and rule.body[0] == domain_body


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/",
        "https://notsina.com.cn/x",
        "https://sina.com.cn.evil.org/",
        "",
        "http://[::1",
        "::",
    ],
)
def test_no_rule(url: str) -> None:
    assert rule_for(url) is None


def test_rules_are_loaded_once_and_valid() -> None:
    assert sites._rules() is sites._rules()
    tree = LexborHTMLParser("<html><body><p>x</p></body></html>")
    for domain, rule in sites._rules().items():
        assert isinstance(rule, SiteRule) and rule.body, domain
        for selector in rule.body + rule.remove:
            tree.css(selector)  # raises on a selector Lexbor cannot parse


@pytest.mark.parametrize(
    ("fixture", "url"),
    [
        ("gne-sina-sina", "https://news.sina.com.cn/c/2019-09-07/doc-iicezzrq4076655.shtml"),
        ("gne-163-1", "https://www.163.com/news/article/EO9NMLQG0001875P.html"),
        ("gne-ifeng-ifeng", "https://ent.ifeng.com/c/7pn5bJqhfgQ"),
        ("gne-qq-qq", "https://new.qq.com/omn/20190905/20190905A0A9Y100.html"),
    ],
)
def test_chinese_rules_match_real_pages(fixture: str, url: str) -> None:
    rule = rule_for(url)
    assert rule is not None
    tree = LexborHTMLParser((FIXTURES / f"{fixture}.html").read_text("utf8"))
    body = next((n for n in (tree.css_first(s) for s in rule.body) if n is not None), None)
    assert body is not None and len(body.text(strip=True)) > 300


def test_sina_rule_keeps_company_names_and_drops_prices() -> None:
    rule = rule_for("https://finance.sina.com.cn/x.shtml")
    assert rule is not None
    tree = LexborHTMLParser(
        "<div id=artibody><p>包括<span id=usstock_JPM><a href=/q>摩根大通</a></span>"
        "<span id=quote_JPM>(<font>-0.5%</font>)</span>等</p><div class=appendQr_wrap>扫码</div></div>"
    )
    body = tree.css_first(rule.body[0])
    assert body is not None
    for selector in rule.remove:
        for node in body.css(selector):
            node.decompose()
    assert body.text() == "包括摩根大通等"
