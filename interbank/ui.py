"""Small terminal helpers shared by the command line: tables, numbers, errors."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from collections.abc import Sequence


def fmt(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value != value:
            return "-"
        if abs(value) >= 1000:
            return f"{value:,.0f}"
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.2f}"
    return str(value)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain aligned text table (numbers right-aligned)."""
    cells = [[fmt(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    numeric = [all(isinstance(row[i], (int, float)) and not isinstance(row[i], bool) for row in rows) for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)).rstrip()

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(list(headers)), sep, *(line(r) for r in cells)])


def path_arg(text: str) -> Path:
    """argparse's type for a path: an empty one is refused (``Path("")`` is the current folder, where
    an empty ``--out ""`` would have written)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path (name a file or folder)")
    return Path(text)


def fail(message: str, code: int = 2) -> "NoReturn":  # noqa: F821
    """Print a one-line user error and exit."""
    print(f"interbank: {message}", file=sys.stderr)
    raise SystemExit(code)


def note(message: str) -> None:
    """Print a one-line notice for the user (stderr: it is not the command's output)."""
    print(f"interbank: note: {message}", file=sys.stderr)


def note_listed_banks(command: str, config: object, banks: int | None) -> None:
    """Tell the user when ``--banks`` replaces the banks a config lists one by one (``banks:``) with
    generated ones (``config``: a path, None for the built-in default, or an ``EnvConfig``; valid)."""
    if banks is None:
        return
    from interbank.config import EnvConfig, listed_banks_replaced, resolve_env_config

    cfg = config if isinstance(config, EnvConfig) else resolve_env_config(config)  # type: ignore[arg-type]
    replaced = listed_banks_replaced(cfg, banks)
    if replaced:
        note(f"{command}: --banks {banks}: the config's {replaced}")


def check_out_folder(command: str, out: Path | None) -> None:
    """Refuse, before any work, an output folder that cannot be made: the path, or the nearest
    part of it that exists, is not a folder (a one-line ``fail``)."""
    if out is None:
        return
    existing = out
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        where = "is a file" if existing == out else f"cannot be made: {existing} is a file"
        fail(f"{command}: --out {out} {where}, not a folder")


def clipped(text: str, most: int = 80) -> str:
    """``text`` as an error message shows what was sent: at most ``most`` characters (a value of
    100,000 characters is not echoed back whole)."""
    return text if len(text) <= most else f"{text[:most - 1]}…"
