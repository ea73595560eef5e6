"""`crawler feeds ...` edits hold a lock from read to write, so edits made at the same moment are all kept."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.config.load import parse_config
from crawler.config.lock import edit_lock, lock_path
from crawler.config.settings import ConfigError
from tests.conftest import FIXTURES, REPO, Workdir

COMMENTED = (FIXTURES / "feeds.commented.yaml").read_bytes()
# Filler feeds make each edit's read-parse-validate-write take long enough that edits started together overlap.
FILLER = "".join(
    f"\n  # filler feed {n}\n  - name: filler-{n}\n    url: https://filler.example/{n}.xml\n    categories: [a, b]\n"
    for n in range(300)
).encode()
WRITERS = 8
# The edits queue behind one another; on a loaded machine eight of them can take longer than the 30 s an operator's
# edit waits by default, and this test is about edits being kept, not about how fast they are.
PATIENT = {"CRAWLER_EDIT_LOCK_TIMEOUT": "600"}


def _start_add(work: Workdir, name: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1", **PATIENT}
    command = [sys.executable, "-m", "crawler", "feeds", "add", name, f"https://new.example/{name}.xml", "--no-probe"]
    return subprocess.Popen(command, cwd=work.path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_concurrent_adds_are_all_kept(work: Workdir) -> None:
    original = COMMENTED + FILLER
    work.config.write_bytes(original)
    names = [f"concurrent-{n}" for n in range(WRITERS)]
    before = {feed.name for feed in parse_config(original.decode(), work.config).feeds}

    procs = [_start_add(work, name) for name in names]  # all started before any is waited for
    outcomes = [(proc.wait(timeout=900), *proc.communicate()) for proc in procs]

    for code, _stdout, stderr in outcomes:
        assert code == 0, stderr
    listed = work.run("feeds", "list", "--json")
    assert listed.code == 0, listed.stderr
    found = {feed["name"] for feed in listed.json()}  # type: ignore[attr-defined]
    assert set(names) <= found, f"lost: {sorted(set(names) - found)}"
    assert found == before | set(names)  # nothing else added or dropped
    assert work.run("check").code == 0
    text = work.config.read_bytes()
    assert text.startswith(original)  # every comment and line before the new feeds is as it was
    assert not list(work.path.glob(".feeds.yaml.*.tmp"))


def test_an_import_and_adds_at_once_are_all_kept(work: Workdir) -> None:
    work.config.write_bytes(COMMENTED + FILLER)
    names = [f"beside-import-{n}" for n in range(4)]

    env = {**os.environ, "PYTHONPATH": str(REPO), "NO_COLOR": "1", **PATIENT}
    opml = str(FIXTURES / "opml" / "feedly-export.opml")
    importer = subprocess.Popen(
        [sys.executable, "-m", "crawler", "feeds", "import", opml],
        cwd=work.path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    adders = [_start_add(work, name) for name in names]

    for proc in (importer, *adders):
        assert proc.wait(timeout=900) == 0, proc.communicate()[1]
    found = {feed["name"] for feed in work.run("feeds", "list", "--json").json()}  # type: ignore[attr-defined]
    assert set(names) <= found
    assert len(found) == len(parse_config((COMMENTED + FILLER).decode(), work.config).feeds) + 17 + len(names)
    assert work.run("check").code == 0


def test_an_edit_waits_while_another_holds_the_lock(work: Workdir) -> None:
    work.config.write_bytes(COMMENTED)
    with open(lock_path(work.config), "a") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)  # as another `crawler feeds` command (or `flock(1)`) would
        proc = _start_add(work, "waited")
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=2)  # still waiting after at least two seconds
        assert work.config.read_bytes() == COMMENTED
    # the lock is released when the file is closed

    assert proc.wait(timeout=900) == 0, proc.communicate()[1]
    assert b"name: waited" in work.config.read_bytes()


def test_a_lock_not_had_in_time_is_a_one_line_error_naming_the_file(tmp_path: Path) -> None:
    config = tmp_path / "feeds.yaml"
    config.write_bytes(COMMENTED)
    with open(lock_path(config), "a") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        with pytest.raises(ConfigError) as caught, edit_lock(config, timeout=0.2):
            pytest.fail("the lock was had while another held it")

    message = str(caught.value)
    assert message.startswith(f"{config}: waited 0.2 s for another `crawler feeds` command to finish editing it")
    assert "(it holds .feeds.yaml.lock)" in message
    assert "\n" not in message


def test_the_lock_is_reentrant_within_one_process(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from crawler.config import editor as feedsfile
    from crawler.config import lock

    monkeypatch.setattr(lock, "LOCK_TIMEOUT", 0.5)  # a lock waiting on itself fails fast rather than in 30 s
    config = tmp_path / "feeds.yaml"
    config.write_bytes(COMMENTED)

    with edit_lock(config):
        feedsfile.add_feeds(config, [feedsfile.NewFeed(name="inner", url="https://inner.example/feed")])
        feedsfile.remove_feed(config, "inner")

    assert config.read_bytes() == COMMENTED
    with edit_lock(config, timeout=0.5):  # released on the way out
        pass


def test_the_wait_is_set_by_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from crawler.config import lock

    monkeypatch.setenv("CRAWLER_EDIT_LOCK_TIMEOUT", "0.3")
    assert lock.lock_timeout() == 0.3
    config = tmp_path / "feeds.yaml"
    config.write_bytes(COMMENTED)
    with open(lock_path(config), "a") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        with pytest.raises(ConfigError, match=r"waited 0\.3 s"), edit_lock(config):
            pytest.fail("the lock was had while another held it")

    monkeypatch.setenv("CRAWLER_EDIT_LOCK_TIMEOUT", "soon")
    with pytest.raises(ConfigError) as caught, edit_lock(config):
        pytest.fail("an unreadable wait was accepted")
    assert str(caught.value) == "CRAWLER_EDIT_LOCK_TIMEOUT='soon': expected a number of seconds, such as 30 or 120"
