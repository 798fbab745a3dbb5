"""Regenerate README.md's rules table from the rule modules.

    python tools/update_readme.py           # rewrite the table in README.md
    python tools/update_readme.py --check   # exit 1 if it is stale (what the tests check)

The table between the ``rules-table:start`` and ``rules-table:end`` markers is built
from each built-in rule module's ``ID``, ``NAME``, ``SEVERITY``, ``APPLIES_TO`` and
``SUMMARY`` (the ``octolint.rules`` entry points into the ``octolint_rules`` package,
read as any rule loader would), so a rule's facts are written once, in its module.
tests/test_readme.py fails when the README's table differs from this one.
"""

from __future__ import annotations

import argparse
import sys
from importlib.metadata import entry_points
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
START = "<!-- rules-table:start -->"
END = "<!-- rules-table:end -->"
BUILT_IN = "octolint_rules."  # third-party rules installed beside octolint are not listed
HEADER = ("id", "name", "severity", "checks", "what it catches")


def rules_rows() -> list[tuple[str, ...]]:
    """(id, name, severity, kind, summary) of every built-in rule, sorted by id."""
    rows = []
    for point in entry_points(group="octolint.rules"):
        if point.value.startswith(BUILT_IN):
            rule = point.load()
            fields = (rule.ID, rule.NAME, rule.SEVERITY, rule.APPLIES_TO, rule.SUMMARY)
            rows.append(tuple(str(field) for field in fields))
    return sorted(rows)


def rules_table() -> str:
    """The Markdown table, one line per rule, ending with a newline."""
    lines = [HEADER, tuple("---" for _ in HEADER), *rules_rows()]
    # A "|" inside a cell would end it: Markdown's escape keeps it text.
    return "".join("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |\n" for row in lines)


def split(readme: str) -> tuple[str, str, str]:
    """(text up to and including START and its newline, the table, text from END on)."""
    head, start, rest = readme.partition(START + "\n")
    table, end, tail = rest.partition(END)
    if not start or not end:
        raise ValueError(f"{README.name}: no {START} ... {END} block")
    return head + start, table, end + tail


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if README.md is stale")
    args = parser.parse_args(argv)
    text = README.read_text(encoding="utf-8")
    head, table, tail = split(text)
    wanted = rules_table()
    if table == wanted:
        return 0
    if args.check:
        print(f"{README}: the rules table is stale; run python tools/update_readme.py",
              file=sys.stderr)  # fmt: skip
        return 1
    README.write_text(head + wanted + tail, encoding="utf-8")
    print(f"{README}: rules table updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
