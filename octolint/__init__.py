"""octolint: will this Docker image work as an Octopus Deploy execution container?

The public API is small::

    from octolint import lint_paths, lint_text
    report = lint_text("FROM alpine\\n", path="Dockerfile")
    for finding in report.findings:
        print(finding.rule_id, finding.message)

Errors are exceptions derived from :class:`octolint.errors.OctolintError`.
"""

from __future__ import annotations

__version__ = "0.1.0"

from octolint.api import lint_paths, lint_text
from octolint.errors import ConfigError, InputError, OctolintError
from octolint.model import Finding, Report, Severity

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
