"""Committing staged files in a group: each move stands or fails alone, and nothing half-written is left."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from crawler.archive import files as archive
from crawler.archive.commit import Commits, Overtaken
from crawler.store.base import CLAIM_LEASE, ArchivedArticle, ClaimStatus, LostClaim, NewEntry
from crawler.store.sqlite import SqliteLocation


def test_a_group_commit_moves_each_file_and_reports_the_one_that_failed(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    first = Path("2021/08/24/aaaaaaaaaaaaaaaa.md")
    second = Path("2021/08/25/bbbbbbbbbbbbbbbb.md")
    lost = Path("2021/08/24/cccccccccccccccc.md")
    temps = [archive.write_temp(root, first, "one\n"), archive.write_temp(root, second, "two\n")]
    gone = archive.write_temp(root, lost, "three\n")
    gone.unlink()  # as if cleared away between staging and commit

    errors = archive.commit_all([(temps[0], first), (gone, lost), (temps[1], second)], root)

    assert errors[0] is None and errors[2] is None
    assert isinstance(errors[1], archive.ArchiveError) and str(root / lost) in str(errors[1])
    assert (root / first).read_text(encoding="utf-8") == "one\n"
    assert (root / second).read_text(encoding="utf-8") == "two\n"
    assert not (root / lost).exists()
    assert sorted(p.name for p in root.rglob("*") if p.is_file()) == ["aaaaaaaaaaaaaaaa.md", "bbbbbbbbbbbbbbbb.md"]


def test_a_file_whose_claim_was_taken_over_meanwhile_is_taken_back_and_the_winners_file_stays(
    tmp_path: Path,
) -> None:
    # Two entries (two feeds) list one article under two URLs. The first's process stalled past the claim's lease
    # between claim and commit; the second took the body's name over and archived its file. The first's commit
    # must leave one file, not two, and say why it wrote nothing.
    root = tmp_path / "archive"
    first = ArchivedArticle("1111111111111111", "2021/08/24/1111111111111111.md", "b", ("https://x/a",))
    second = ArchivedArticle("2222222222222222", "2021/08/24/2222222222222222.md", "b", ("https://y/a",))

    async def scenario() -> None:
        store = await SqliteLocation(tmp_path / "state.db").open()
        try:
            await store.add_pending("f", [NewEntry("k1", "https://x/a", "{}")], 1.0)
            await store.add_pending("g", [NewEntry("k2", "https://y/a", "{}")], 1.0)
            assert (await store.claim(first.claim("f", "k1"), 1000.0)).status is ClaimStatus.WON
            assert (await store.claim(second.claim("g", "k2"), 1000.0 + CLAIM_LEASE + 1)).status is ClaimStatus.WON
            commits = Commits(root, store)
            await commits.commit("g", "k2", archive.write_temp(root, Path(second.path), "second\n"), second)

            with pytest.raises(Overtaken) as caught:
                await commits.commit("f", "k1", archive.write_temp(root, Path(first.path), "first\n"), first)

            assert caught.value.lost == LostClaim("f", "k1", first.article_id, second.article_id, archived=True)
            assert f"duplicate of article {second.article_id}" in str(caught.value)
            assert [a.article_id for a in await store.articles()] == [second.article_id]
            assert (await store.counts("f")).archived == 1  # recorded as a duplicate of the one kept
        finally:
            await store.close()

    asyncio.run(scenario())
    assert [p.relative_to(root).as_posix() for p in root.rglob("*.md")] == [second.path]
    assert (root / second.path).read_text(encoding="utf-8") == "second\n"
