"""MkDocs hook: the env card, generated from the code at build time.

``help(interbank.envs.InterbankEnv)`` prints the card; its tables come from the code's own action and
feature lists. A page that holds the line ``<!-- env-card -->`` gets the card there, its headings one level
down and its reST tables as Markdown tables, so the docs never hold a stale copy of it.
"""

from __future__ import annotations

import re

MARKER = "<!-- env-card -->"


def _md_table(block: list[str]) -> list[str]:
    """A reST simple table (rules of '=' around the header and at the end) as a Markdown table."""
    rule = block[0]
    spans = [(m.start(), m.end()) for m in re.finditer(r"=+", rule)]

    def cells(line: str) -> list[str]:
        out = []
        for k, (a, _) in enumerate(spans):
            b = spans[k + 1][0] if k + 1 < len(spans) else None
            out.append(line[a:b].strip().replace("|", "\\|"))
        return out

    rows = [cells(line) for line in block if not re.fullmatch(r"[= ]+", line)]
    header, body = rows[0], rows[1:]
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header), *("| " + " | ".join(r) + " |" for r in body)]


def card_markdown() -> str:
    import inspect

    from interbank.envs import InterbankEnv

    lines = inspect.cleandoc(InterbankEnv.__doc__).splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if re.fullmatch(r"=+( +=+)*", line):  # a table: rule, header, rule, rows, rule
            j = i + 1
            rules = 1
            while j < len(lines) and rules < 3:
                if re.fullmatch(r"=+( +=+)*", lines[j]):
                    rules += 1
                j += 1
            out.extend(["", *_md_table(lines[i:j]), ""])
            i = j
            continue
        if line.startswith("## "):
            out.extend(["", "#" + line, ""])
        else:
            out.append(line)
        i += 1
    return "\n".join(out)


def on_page_markdown(markdown: str, page, config, files) -> str:
    if MARKER in markdown:
        markdown = markdown.replace(MARKER, card_markdown())
    return markdown
