"""Every command the README and the docs show is valid as written.

Each ```bash block of README.md and docs/*.md is read line by line (continuations and quoted strings
spanning lines joined, comments dropped, ``[--opt]`` read as the option given):

- an ``interbank ...`` line parses with the real command line (``interbank.cli.build_parser``), run from the
  repository root so that ``--config`` names resolve as they would for a user;
- a ``make TARGET`` line names a target of the Makefile;
- a ``python SCRIPT`` line names a script that exists;
- any other command is one of the outside tools the docs use (curl, ray, pip, tensorboard, source);
- every path into the repository a command names (configs/, benchmarks/, docs/, interbank/, tests/)
  exists.

The README's tour is also run: its simulation, the recording and the replay check, and its Python
snippet. Nothing here trains or serves. ``make docs`` (CI) builds the site itself strictly.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from interbank.cli import build_parser

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
OUTSIDE_TOOLS = {"curl", "ray", "pip", "tensorboard", "source"}
REPO_PATH = re.compile(r"^(configs|benchmarks|docs|interbank|tests)/")


def _blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", text, flags=re.S | re.M)


def _commands(block: str) -> list[list[str]]:
    """The block's commands as argument lists: backslash continuations and quotes spanning lines joined."""
    out: list[list[str]] = []
    pending = ""
    for line in block.splitlines():
        pending = f"{pending}\n{line}" if pending else line
        if pending.rstrip().endswith("\\"):
            pending = pending.rstrip()[:-1]
            continue
        try:
            words = shlex.split(pending, comments=True)
        except ValueError:  # a quoted string goes on on the next line
            continue
        pending = ""
        command: list[str] = []
        it = iter(words)
        for word in it:
            if word in ("&&", "||", ";", "|"):  # a chain: each part a command of its own
                out.append(command) if command else None
                command = []
            elif word in (">", ">>", "<", "2>", "2>&1"):  # a redirection and its file: the shell's, not the command's
                if word != "2>&1":
                    next(it, None)
            else:
                command.append(word)
        if command:
            out.append(command)
    assert not pending, f"unterminated command: {pending!r}"
    return out


def _unbracket(words: list[str]) -> list[str]:
    """``[--json]`` and ``[--repeat 3]`` (an optional part, as in a synopsis) read as given."""
    out = []
    for word in words:
        if word.startswith("[--"):
            word = word[1:]
        if word.endswith("]") and "[" not in word:
            word = word[:-1]
        out.append(word)
    return out


def _shown_commands() -> list[tuple[str, list[str]]]:
    found = []
    for page in PAGES:
        for block in _blocks(page.read_text(encoding="utf-8"), "bash"):
            for words in _commands(block):
                found.append((f"{page.relative_to(ROOT)}: {shlex.join(words)}", _unbracket(words)))
    return found


COMMANDS = _shown_commands()


def _makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text()
    return {m.group(1) for m in re.finditer(r"^([\w.-]+):", text, flags=re.M)}


def test_the_docs_show_commands():
    """The extraction finds the README's tour and the pages' commands (a broken extractor checks nothing)."""
    shown = [w for _, w in COMMANDS]
    assert ["make", "demo"] in shown and ["make", "test"] in shown
    subcommands = {w[1] for w in shown if w[0] == "interbank"}
    assert {"simulate", "train", "evaluate", "serve", "replay", "facts", "experiment", "bench"} <= subcommands
    readme = [w for where, w in COMMANDS if where.startswith("README.md")]
    assert {w[1] for w in readme if w[0] == "interbank"} >= {"simulate", "train", "evaluate", "serve"}


@pytest.mark.parametrize("where,words", COMMANDS, ids=[where for where, _ in COMMANDS])
def test_shown_command_is_valid(where, words, monkeypatch):
    monkeypatch.chdir(ROOT)
    tool = words[0]
    for word in words[1:]:
        for part in word.split("="):  # --compare NAME=module:factory, KEY=VALUE
            if REPO_PATH.match(part):
                matches = list(ROOT.glob(part)) if any(c in part for c in "*?[") else [ROOT / part]
                assert matches and all(m.exists() for m in matches), f"{where}: {part} does not exist"
    if tool == "interbank":
        try:
            args = _strict_parser().parse_args(words[1:])
        except SystemExit as exc:
            pytest.fail(f"{where}: the command line refuses it (exit {exc.code})")
        assert args.command == words[1]
    elif tool == "make":
        assert set(words[1:]) <= _makefile_targets(), f"{where}: no such make target"
    elif tool in ("python", "python3"):
        script = next(w for w in words[1:] if not w.startswith("-"))
        assert (ROOT / script).is_file(), f"{where}: {script} does not exist"
    else:
        assert tool in OUTSIDE_TOOLS, f"{where}: {tool} is neither interbank, make, python nor a known outside tool"


def _strict_parser() -> argparse.ArgumentParser:
    """The real parser, without argparse's abbreviations: the docs write every option in full."""
    parser = build_parser()
    parser.allow_abbrev = False
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                sub.allow_abbrev = False
    return parser


def _interbank(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-c", "from interbank.cli import main; raise SystemExit(main())", *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_readme_tour_simulation_and_replay_run_as_written(tmp_path):
    """The tour's first block (simulate, record, verify), run as written in a folder with the repository's
    configs/: each exits 0 and the recording re-simulates identically."""
    (tmp_path / "configs").symlink_to(ROOT / "configs")
    block = next(b for b in _blocks((ROOT / "README.md").read_text(encoding="utf-8"), "bash") if "--verify" in b)
    ran = 0
    for words in _commands(block):
        if words[0] != "interbank" or words[1] not in ("simulate", "replay"):
            continue
        result = _interbank(words[1:] + (["--no-progress"] if words[1] == "simulate" else []), tmp_path)
        assert result.returncode == 0, f"{shlex.join(words)}:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
        ran += 1
        if "--verify" in words:
            assert "re-simulated identically" in result.stdout
    assert ran == 3


def test_readme_python_snippet_runs(monkeypatch):
    monkeypatch.chdir(ROOT)
    snippets = _blocks((ROOT / "README.md").read_text(encoding="utf-8"), "python")
    assert snippets
    for code in snippets:
        namespace: dict = {}
        exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102
        assert not namespace["env"].agents  # it ran the episode to its end


def test_extending_example_runs(monkeypatch):
    """docs/extending.md's policy plays an episode through the env, every action allowed by the mask;
    its network example includes files that exist (the build's snippets check them too)."""
    monkeypatch.chdir(ROOT)
    # the policy example (the other python blocks include the network example's files, run by their own test)
    code, *included = _blocks((ROOT / "docs" / "extending.md").read_text(encoding="utf-8"), "python")
    assert all(block.startswith("--8<--") for block in included)
    namespace: dict = {}
    exec(compile(code, "docs/extending.md", "exec"), namespace)  # noqa: S102
    assert not namespace["env"].agents


def test_the_included_examples_exist():
    text = (ROOT / "docs" / "extending.md").read_text(encoding="utf-8")
    included = [line.split('"')[1] for line in text.splitlines() if line.startswith("--8<--")]
    assert included and all((ROOT / path).is_file() for path in included)
