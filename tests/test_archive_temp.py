"""Temp files of unfinished writes: those of a dead writer are cleared, at start and after a worker dies, and the
crawler's own, still to be committed, are kept while it runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from crawler.archive import files as archive


def test_a_dead_writers_temp_file_goes_and_a_live_ones_stays_until_the_next_start(tmp_path: Path) -> None:
    root = tmp_path / "archive"
    relative = Path("2021/08/24/aaaaaaaaaaaaaaaa.md")
    own = archive.write_temp(root, relative, "staged, not yet committed\n")
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = own.with_name(f".aaaaaaaaaaaaaaaa.md.{int(gone.stdout)}.0.tmp")  # as write_temp names them
    dead.write_text("left by a worker that died\n", encoding="utf-8")

    assert archive.remove_stale_temp_files(root, at_start=False) == 1  # after a worker died, mid-run
    assert own.exists() and not dead.exists()
    assert archive.remove_stale_temp_files(root) == 1  # at the next start: this pid's files are a past life's
    assert not own.exists()


def test_after_a_worker_died_only_the_temp_files_of_its_lost_jobs_go(tmp_path: Path) -> None:
    # A dead worker staged two articles: the result of the first came back (its file waits for its commit), the
    # second's died with the worker. Only the lost job's tag is handed to the cleanup.
    root = tmp_path / "archive"
    folder = root / "2021/08/24"
    folder.mkdir(parents=True)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    came_back, lost = archive.new_temp_tag(), archive.new_temp_tag()
    waiting = folder / f".aaaaaaaaaaaaaaaa.md.{int(gone.stdout)}.{came_back.number}.tmp"
    orphan = folder / f".bbbbbbbbbbbbbbbb.md.{int(gone.stdout)}.{lost.number}.tmp"
    for temp in (waiting, orphan):
        temp.write_text("staged by the dead worker\n", encoding="utf-8")
    own = archive.write_temp(root, Path("2021/08/24/cccccccccccccccc.md"), "this process's own\n", lost)

    assert archive.remove_lost_temp_files(root, [lost]) == 1
    assert waiting.exists() and own.exists() and not orphan.exists()
