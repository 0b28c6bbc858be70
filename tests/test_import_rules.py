"""Imports flow one way (the layering in ``interbank/__init__.py``'s docstring): train, evaluate
and interactive are siblings over policies; evaluation never imports training, training never
imports evaluation, and the interactive runner and evaluation never import each other."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "interbank"
FORBIDDEN = [
    ("evaluate", "train"), ("train", "evaluate"), ("interactive", "evaluate"), ("evaluate", "interactive"),
]


def imported_modules(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
            out.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError(f"{path}: relative import; write interbank.… in full so this test can check it")
    return out


@pytest.mark.parametrize("importer, imported", FORBIDDEN)
def test_no_import_between_sibling_packages(importer, imported):
    bad = [
        f"{path.relative_to(PACKAGE.parent)} imports {name}"
        for path in sorted((PACKAGE / importer).rglob("*.py"))
        for name in sorted(imported_modules(path))
        if name == f"interbank.{imported}" or name.startswith(f"interbank.{imported}.")
    ]
    assert not bad, "; ".join(bad)


def test_the_rule_sees_imports_inside_functions(tmp_path):
    sample = tmp_path / "m.py"
    sample.write_text("def f():\n    from interbank.train.rllib_backend import connect\n")
    assert "interbank.train.rllib_backend" in imported_modules(sample)
