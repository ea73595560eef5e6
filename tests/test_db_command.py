"""`crawler db upgrade` / `crawler db status`, and `state: postgresql://...` end to end through the real CLI."""

from __future__ import annotations

from tests.conftest import Workdir
from tests.support.feeds import RSS, Item, config, page, rss
from tests.support.server import TestServer


def test_db_status_names_the_steps_due_and_upgrade_applies_them(work: Workdir) -> None:
    work.write_config(config({"name": "f", "url": "http://127.0.0.1:9/feed"}))

    before = work.run("db", "status", "--json")
    assert before.code == 1 and before.json()["version"] == 0 and before.json()["pending"]
    upgraded = work.run("db", "upgrade", "--json")
    assert upgraded.code == 0, upgraded.stderr
    assert upgraded.json()["applied"] == before.json()["pending"]
    after = work.run("db", "status")
    assert after.code == 0 and "schema version" in after.stdout
    assert "up to date" in work.run("db", "upgrade").stdout


def test_a_fetch_with_its_state_in_postgresql_archives_and_remembers(
    server: TestServer, work: Workdir, postgres_url: str
) -> None:
    server.add("/feed.xml", body=rss(Item(server.url("/a"), "A"), Item(server.url("/b"), "B")), content_type=RSS)
    server.add("/a", body=page("The first article's words, long enough to be told apart from any other. " * 4))
    server.add("/b", body=page("The second article's words, also long enough to be told apart from others. " * 4))
    work.write_config(config({"name": "f", "url": server.url("/feed.xml")}, state=postgres_url))

    first = work.run("fetch", "--json")
    assert first.code == 0, first.stderr
    assert first.json()["feeds"][0]["new"] == 2 and len(work.files()) == 2
    second = work.run("fetch", "--json")
    assert second.code == 0, second.stderr
    assert second.json()["feeds"][0]["new"] == 0

    status = work.run("status", "--json")
    assert status.code == 0, status.stderr
    assert "state.db" not in status.stdout
    assert work.run("db", "status").code == 0
    assert not (work.path / ".crawler").exists()  # no SQLite file made beside it


def test_an_unreachable_database_is_one_clear_line(work: Workdir, postgres_url: str) -> None:
    wrong = postgres_url.replace("postgres@", "postgres:hunter2@").rsplit("/", 1)[0] + "/missing_db"
    work.write_config(config({"name": "f", "url": "http://127.0.0.1:9/feed"}, state=wrong))

    failed = work.run("db", "upgrade")

    assert failed.code == 1
    assert failed.stderr.count("\n") == 1 and "hunter2" not in failed.stderr and "createdb" in failed.stderr
