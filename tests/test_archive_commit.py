"""Committing staged files in a group: each move stands or fails alone, and nothing half-written is left."""

from __future__ import annotations

from pathlib import Path

from crawler.archive import files as archive


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
