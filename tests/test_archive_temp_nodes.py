"""Temp files in an archive shared by several nodes: each carries its writer's host, and a node clears only its
own host's leftovers (whose process is gone) and those of hosts whose every node is known dead."""

from __future__ import annotations

import os
from pathlib import Path

from crawler.archive import files as archive


def test_temp_files_name_their_host(tmp_path: Path) -> None:
    temp = archive.write_temp(tmp_path, Path("2021/08/24/aaaaaaaaaaaaaaaa.md"), "x\n")

    assert temp.name.startswith(f".aaaaaaaaaaaaaaaa.md.{os.getpid()}.") and temp.name.endswith(
        f".h-{archive.HOST_TAG}.tmp"
    )


def test_another_hosts_temp_file_stays_unless_that_host_is_known_dead(tmp_path: Path) -> None:
    folder = tmp_path / "2021/08/24"
    folder.mkdir(parents=True)
    # pid 1 runs here, but says nothing of a process on another host: only the database's word counts.
    other = folder / ".aaaaaaaaaaaaaaaa.md.1.0.h-node-b.tmp"
    other.write_text("being written by a live node\n", encoding="utf-8")

    assert archive.remove_stale_temp_files(tmp_path) == 0
    assert archive.remove_stale_temp_files(tmp_path, dead_hosts={"node-c"}) == 0
    assert other.exists()

    assert archive.remove_stale_temp_files(tmp_path, dead_hosts={"node.b"}) == 1  # its every node dead
    assert not other.exists()
