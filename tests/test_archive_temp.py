"""Temp files of unfinished writes: those of a dead writer are cleared, at start and after a worker dies, and the
crawler's own, still to be committed, are kept while it runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from crawler import archive


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
