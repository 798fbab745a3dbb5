"""What the CI formats (github, junit, gitlab) share: where a finding is and its fingerprint.

A finding's file is its file region (``Finding.file``): its own for a Dockerfile
or deployment finding, the ``--dockerfile`` region for an image finding that has
one. Any other image finding names the image, not a file: CI systems must not be
told it is a path in the repository.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter

from octolint.model import Finding
from octolint.reporters._common import STDIN_PATH, normalised_source, relative_posix


def file_of(finding: Finding) -> str | None:
    """The finding's file relative to the working directory, or None when it has no file
    (standard input, or an image finding that does not point at the ``--dockerfile``)."""
    region = finding.file
    if region is None or region.path == STDIN_PATH:
        return None
    return relative_path(region.path)


def relative_path(path: str) -> str:
    """``path`` relative to the working directory with ``/`` separators; absolute when
    it is outside it (CI systems resolve those against the checkout themselves)."""
    absolute = os.path.abspath(path)
    return relative_posix(absolute, os.getcwd()) or absolute


def fingerprints(findings: list[Finding]) -> list[str]:
    """One fingerprint per finding, unique within the list and stable when lines move.

    SHA-256 of the path, rule id, whitespace-normalised source (the message when
    there is none) and how many identical ones came before it in the same file; the
    line number is deliberately left out, so unrelated edits above keep it.
    """
    seen: Counter[str] = Counter()
    result = []
    for finding in findings:
        key = f"{finding.subject}\0{finding.rule_id}\0{normalised_source(finding)}"
        seen[key] += 1
        payload = f"{key}\0{seen[key]}".encode("utf-8", "surrogatepass")
        result.append(hashlib.sha256(payload).hexdigest())
    return result
