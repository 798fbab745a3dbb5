"""Output formats. Each one is a module with the same ``render`` function.

Importing this package is free: the chosen reporter module (and, for ``human``,
rich) is only imported when :func:`render` is called.

Every format returns the complete output as one string that ends with exactly
one newline, or is empty when the format has nothing to say (``github``
without findings); write it as is (``click.echo(text, nl=False)``).

Options beyond ``color`` and ``tool_version`` are passed to every reporter,
which uses those it knows and ignores the rest: ``category`` (SARIF
``runAutomationDetails.id``), ``subject`` (``"dockerfile"``, ``"image"`` or
``"deploy"``: what the command checked, for SARIF's default category) and
``fail_threshold`` (the ``--fail-on`` severity, None for never). Where a finding
is comes from its own location (``octolint.model``), never from these.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from octolint.errors import ConfigError

if TYPE_CHECKING:
    from octolint.model import Report
    from octolint.rulebook import Rule

# format name -> reporter module, in the order `--help` lists them
_MODULES = {
    "human": "human",
    "json": "json_report",
    "sarif": "sarif",
    "github": "github",
    "junit": "junit",
    "gitlab": "gitlab",
}
FORMATS: tuple[str, ...] = tuple(_MODULES)


def render(
    fmt: str,
    report: Report,
    rules: Mapping[str, Rule],
    *,
    color: bool = False,
    tool_version: str,
    **options: Any,
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
    return reporter(report, rules, color=color, tool_version=tool_version, **options)
