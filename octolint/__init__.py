"""octolint: will this Docker image work as an Octopus Deploy execution container?

The public API is small::

    from octolint import lint_paths, lint_text
    report = lint_text("FROM alpine\\n", path="Dockerfile")
    for finding in report.findings:
        print(finding.rule_id, finding.message)

Errors are exceptions derived from :class:`octolint.errors.OctolintError`, except
inputs ``lint_paths`` cannot read: those are listed in ``report.errors`` and the
other inputs are still linted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from octolint.api import lint_paths, lint_text
    from octolint.errors import ConfigError, InputError, OctolintError
    from octolint.model import Finding, Report, Severity

# Imported on first use, so that `octolint --version` and `python -m octolint`
# do not pay for the whole engine before they need it.
_LAZY = {
    "lint_paths": "octolint.api", "lint_text": "octolint.api",
    "ConfigError": "octolint.errors", "InputError": "octolint.errors",
    "OctolintError": "octolint.errors", "Finding": "octolint.model",
    "Report": "octolint.model", "Severity": "octolint.model",
}  # fmt: skip


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'octolint' has no attribute {name!r}")

__all__ = [
    "ConfigError",
    "Finding",
    "InputError",
    "OctolintError",
    "Report",
    "Severity",
    "__version__",
    "lint_paths",
    "lint_text",
]
