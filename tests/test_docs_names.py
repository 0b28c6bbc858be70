"""The docs' tables and lists of names are written by hand; each is checked here against the code
it describes (a registry, the command line, the configs folder, the server's routes), so that a name
added, renamed or removed in the code fails a test until the page says so too."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _page(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


def _section(text: str, heading: str) -> str:
    """The text under ``heading`` (a Markdown heading line) up to the next heading of any level."""
    start = text.index(heading + "\n") + len(heading)
    nxt = re.search(r"^#+ ", text[start:], flags=re.M)
    return text[start:start + nxt.start()] if nxt else text[start:]


def _bullet(text: str, opening: str) -> str:
    """The Markdown list item that starts with ``opening``, its continuation lines joined by spaces."""
    start = text.index(opening)
    end = re.search(r"\n\s*(?:- |\n)", text[start + len(opening):])
    return " ".join(text[start:start + len(opening) + (end.start() if end else len(text))].split())


def _table_rows(text: str) -> list[list[str]]:
    """The body rows of the first Markdown table in ``text`` (header and rule skipped), cells stripped."""
    lines = text.splitlines()
    for k, line in enumerate(lines):
        if line.startswith("|") and k + 1 < len(lines) and re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", lines[k + 1]):
            rows = []
            for body in lines[k + 2:]:
                if not body.startswith("|"):
                    break
                rows.append([c.strip() for c in body.strip().strip("|").split("|")])
            return rows
    raise AssertionError("no table found")


def _backticked(cell: str) -> str:
    m = re.match(r"`([^`]+)`", cell)
    assert m, cell
    return m.group(1)


def test_the_command_table_lists_every_subcommand():
    from interbank.cli import build_parser

    subcommands = list(build_parser()._subparsers._group_actions[0].choices)
    table = _table_rows(_page("docs/cli.md").split("\n## ")[0])
    assert sorted(_backticked(r[0]).removeprefix("interbank ") for r in table) == sorted(subcommands)


def test_the_scenario_table_lists_every_scenario_of_configs():
    shipped = sorted(f"configs/{p.name}" for p in (ROOT / "configs").glob("*.yaml"))
    table = _table_rows(_section(_page("docs/economics.md"), "## Scenarios (`configs/`)"))
    assert sorted(_backticked(r[0]) for r in table) == shipped


def test_the_rule_central_bank_table_lists_every_rule_with_its_grid_and_defaults():
    from dataclasses import fields

    from interbank.envs.central_bank_rules import CENTRAL_BANK_RULE_GRIDS, CENTRAL_BANK_RULES

    table = _table_rows(_section(_page("docs/central_bank.md"), "## Rule central banks"))
    rows = {_backticked(r[0]): r[2] for r in table}
    assert list(rows) == list(CENTRAL_BANK_RULES)
    for rule, cls in CENTRAL_BANK_RULES.items():
        cell, grid = rows[rule], CENTRAL_BANK_RULE_GRIDS[rule]
        if not fields(cls):
            assert cell == "none", rule
        for f in fields(cls):
            if f.name in grid:
                m = re.search(rf"`{f.name}` \(([^)]*)\)", cell)
                assert m and [float(x) for x in m.group(1).split(",")] == list(grid[f.name]), (rule, f.name, cell)
            else:
                m = re.search(rf"`{f.name}` ([0-9.]+)", cell)
                assert m and float(m.group(1)) == f.default, (rule, f.name, cell)
        named = set(re.findall(r"`([a-z_]+)`", cell))
        assert named == {f.name for f in fields(cls)}, (rule, named)


def test_the_evaluation_names_every_baseline_and_each_rules_grid():
    from interbank.policies import BASELINES, RULE_GRIDS

    bullet = _bullet(_page("docs/training.md"), "- **Reference rules, tuned.**")
    for name in BASELINES:
        assert f"`{name}`" in bullet or f"`{name}(" in bullet, name
    for name, grid in RULE_GRIDS.items():
        for key, values in grid.items():
            shown = f"{key} ∈ {{{', '.join(f'{v:g}' for v in values)}}}"
            assert shown in bullet, (name, shown)
            assert f"{name} {key} ∈" in bullet or f"{name} " in bullet.split(shown)[0][-60:], (name, key)


def test_the_event_stream_section_names_every_event_type_operation_and_cause():
    from typing import get_args, get_type_hints

    from interbank.sim.events import AGENT_OPERATIONS, EVENT_TYPES, FACILITY_OPERATIONS, INTERVENTIONS, DefaultData

    section = " ".join(_section(_page("docs/env.md"), "## Event stream").split())
    causes = get_args(get_type_hints(DefaultData)["cause"])
    for name in (*EVENT_TYPES, *FACILITY_OPERATIONS, *INTERVENTIONS, *AGENT_OPERATIONS, *causes):
        assert f"`{name}`" in section, name


def test_the_interactive_page_names_every_command_state_field_and_route():
    from fastapi.routing import APIRoute

    import interbank.interactive.server as server
    from interbank.interactive.runner import COMMANDS, SESSION_COMMANDS, STATES

    page = _page("docs/interactive.md")
    control = _bullet(page, "- `POST /api/interactive/control`:")
    for command in (*COMMANDS, *SESSION_COMMANDS):
        assert f"`{command}`" in control, command
    signature = re.search(r"`\{([^}]*)\}`", control).group(1)
    assert {f.strip().rstrip("?") for f in signature.split(",")} == set(server.ControlRequest.model_fields)
    status = _bullet(page, "- `GET /api/interactive/status")
    for state in STATES:
        assert f"`{state}`" in status, state
    # every route of the API, in the page and in the server's own docstring
    doc = " ".join(server.__doc__.split())
    for route in server.create_app().routes:
        if isinstance(route, APIRoute) and route.include_in_schema:
            for method in route.methods:
                shown = f"{method} {route.path}".replace("{session_id}", "{id}")
                assert f"`{shown}" in page, shown
                assert shown in doc, shown
