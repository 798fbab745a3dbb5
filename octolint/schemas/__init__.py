"""JSON schemas shipped with octolint, read from the installed package data.

``octolint-report.schema.json``  octolint's own ``--format json`` output
``sarif-2.1.0.json``             the OASIS SARIF 2.1.0 schema (see SARIF-SCHEMA-LICENSE.txt)
"""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

OCTOLINT_REPORT = "octolint-report.schema.json"
SARIF = "sarif-2.1.0.json"


def load_schema(name: str) -> dict[str, Any]:
    """Parse one of the schemas above; ``name`` may omit the ``.json`` suffix."""
    file_name = name if name.endswith(".json") else f"{name}.json"
    if "/" in file_name or "\\" in file_name or file_name.startswith("."):
        raise ValueError(f"not a schema name: {name!r}")
    # Resolved through the "octolint" package so that this works whether or not
    # octolint.schemas itself is installed as a package (the data files are).
    resource = resources.files("octolint").joinpath("schemas").joinpath(file_name)
    try:
        text = resource.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValueError(f"no schema named {name!r}") from None
    schema = json.loads(text)
    if not isinstance(schema, dict):
        raise ValueError(f"schema {name!r} is not a JSON object")
    return schema
