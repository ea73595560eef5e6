"""`crawler completion bash|zsh`: completion scripts generated from the command line's own parser, so every command
and option is offered and none is forgotten when one is added."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from crawler.cli.main import _parser
from tests.conftest import Workdir

BASH = shutil.which("bash")


def _complete(script: str, *words: str) -> list[str]:
    """What bash offers after `crawler WORDS...` (the last word the one being typed), the script sourced as a user's
    shell would source it."""
    line = " ".join(("crawler", *words))
    program = (
        'source "$1"; shift\n'
        "spec=$(complete -p crawler) || exit 3\n"
        'function=$(printf "%s" "$spec" | sed -n "s/.* -F \\([^ ]*\\) .*/\\1/p")\n'
        'COMP_WORDS=(crawler "$@"); COMP_CWORD=$#; COMP_LINE="$LINE"; COMP_POINT=${#COMP_LINE}\n'
        'prev=crawler; [ $# -gt 1 ] && prev="${COMP_WORDS[$(($# - 1))]}"\n'
        '"$function" crawler "${COMP_WORDS[$#]}" "$prev"\n'
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    done = subprocess.run(
        [str(BASH), "--norc", "--noprofile", "-c", program, "bash", script, *words],
        capture_output=True,
        text=True,
        timeout=60,
        env={"LINE": line, "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return sorted(word.strip() for word in done.stdout.splitlines() if word.strip())


def _choices(*path: str) -> list[str]:
    parser = _parser()
    for name in path:
        sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
        parser = sub.choices[name]  # type: ignore[index]
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return sorted(sub.choices)  # type: ignore[arg-type]


@pytest.mark.skipif(BASH is None, reason="needs bash")
def test_bash_completion_offers_the_commands_and_their_options(work: Workdir) -> None:
    made = work.run("completion", "bash")
    assert made.code == 0, made.stderr
    script = work.path / "crawler.bash"
    script.write_text(made.stdout, encoding="utf-8")

    commands = _complete(str(script), "")
    feeds = _complete(str(script), "feeds", "")
    feeds_s = _complete(str(script), "feeds", "s")
    add_options = _complete(str(script), "feeds", "add", "--no")

    assert commands == _choices()
    assert {"fetch", "init", "completion", "feeds", "check"} <= set(commands)
    assert feeds == _choices("feeds")
    assert {"add", "set", "unset", "import", "export"} <= set(feeds)
    assert feeds_s == ["set"]
    assert add_options == ["--no-probe"]


def test_zsh_completion_is_a_compdef_function(work: Workdir) -> None:
    made = work.run("completion", "zsh")

    assert made.code == 0, made.stderr
    assert made.stdout.startswith("#compdef crawler")


ZSH = shutil.which("zsh")
# Installs the script as README says (a file `_crawler` on $fpath, then compinit), checks that zsh maps `crawler`
# to it, then lists what its menus offer: `_describe`, zsh's menu builder, is replaced by a printer of its choices.
ZSH_PROGRAM = """\
fpath=("$1" $fpath); autoload -Uz compinit && compinit -u -d "$1/.zcompdump"
print -r -- "registered=${_comps[crawler]}"
eval "$(<"$1/_crawler")"
_describe() { print -rl -- ${(P)2%%:*} }
_shtab_crawler_commands; print -r -- "--"; _shtab_crawler_feeds_commands
"""


@pytest.mark.skipif(ZSH is None, reason="needs zsh")
def test_zsh_completion_offers_the_commands_once_installed(work: Workdir) -> None:
    made = work.run("completion", "zsh")
    assert made.code == 0, made.stderr
    folder = work.path / "zfunc"
    folder.mkdir()
    (folder / "_crawler").write_text(made.stdout, encoding="utf-8")

    done = subprocess.run(
        [str(ZSH), "-f", "-c", ZSH_PROGRAM, "zsh", str(folder)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin", "HOME": str(work.path)},
        check=False,
    )

    assert done.returncode == 0, done.stderr
    registered, rest = done.stdout.split("\n", 1)
    commands, feeds = rest.split("--\n")
    assert registered == "registered=_crawler"
    assert sorted(commands.split()) == _choices()
    assert sorted(feeds.split()) == _choices("feeds")


def test_an_unknown_shell_is_a_usage_error(work: Workdir) -> None:
    result = work.run("completion", "fish")

    assert result.code == 2
    assert "invalid choice: 'fish'" in result.stderr
