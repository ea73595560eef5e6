"""The throughput bench's quick run completes and writes its JSON (no assertion on any speed)."""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO

BENCH = REPO / "bench" / "throughput.py"


def _fallback_server_starts(tmp_path: Path) -> bool:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, str(BENCH), "--serve", str(tmp_path), "--port", str(port), "127.0.0.2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with socket.create_connection(("127.0.0.2", port), timeout=0.5):
                    return True
            except OSError:
                time.sleep(0.05)
        return False
    finally:
        proc.terminate()
        proc.wait(10)


def _nginx_installed() -> bool:
    return any(Path(folder, "nginx").exists() for folder in ("/usr/sbin", "/usr/bin", "/usr/local/sbin"))


def test_quick_bench_completes_and_writes_json_with_every_row(tmp_path: Path) -> None:
    if importlib.util.find_spec("trafilatura") is None:
        pytest.skip("trafilatura is not installed (pip install '.[bench]')")
    if not _nginx_installed() and not _fallback_server_starts(tmp_path):
        pytest.skip("neither nginx nor the bench's fallback server can serve 127.0.0.x here")
    out = tmp_path / "throughput.json"

    proc = subprocess.run(
        [sys.executable, str(BENCH), "--quick", "--out", str(out)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,  # a guard against a hang, not a speed limit: about 40 s alone, minutes on a loaded machine
    )

    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads(out.read_text(encoding="utf-8"))
    for key in (
        "first_crawl",
        "first_crawl_warc",
        "first_crawl_images",
        "unchanged_304",
        "unchanged_200_same_body",
        "many_feeds_unchanged",
        "daemon_many_feeds",
        "plain_loop",
        "trafilatura",
        "ratios",
    ):
        assert key in results, key
    assert set(results["ratios"]) >= {"ours_vs_plain_loop", "ours_vs_trafilatura"}
    assert "| first crawl" in proc.stdout
