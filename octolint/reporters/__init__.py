"""Output formats. Each one is a module with the same ``render`` function.

Importing this package is free: the chosen reporter module (and, for ``human``,
rich) is only imported when :func:`render` is called.

Every format returns the complete output as one string that ends with exactly
one newline; write it as is (``click.echo(text, nl=False)``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from octolint.errors import ConfigError

if TYPE_CHECKING:
    from octolint.model import Report
    from octolint.registry import Rule

FORMATS: tuple[str, ...] = ("human", "json", "sarif")

_MODULES = {"human": "human", "json": "json_report", "sarif": "sarif"}


def render(
    fmt: str,
    report: Report,
    rules: Mapping[str, Rule],
    *,
    color: bool = False,
    tool_version: str,
) -> str:
    """Render ``report`` in format ``fmt``; ``rules`` maps rule id to rule.

    ``color`` only affects ``human``. Raises :class:`ConfigError` for an unknown format.
    """
    module_name = _MODULES.get(fmt)
    if module_name is None:
        raise ConfigError(
            f"unknown output format '{fmt}' (expected one of: {', '.join(FORMATS)})",
            key="format",
        )
    module = importlib.import_module(f"{__name__}.{module_name}")
    reporter: Callable[..., str] = module.render
    return reporter(report, rules, color=color, tool_version=tool_version)
