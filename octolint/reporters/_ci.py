"""What the CI formats (github, junit, gitlab) share: where a finding is and its fingerprint.

The CLI tells reporters what was checked with two options: ``subject`` is
``"dockerfile"`` (``octolint lint``) or ``"image"`` (``octolint image``), and for
images ``dockerfile`` is the ``--dockerfile`` path. An image finding whose path
is not that file names the image, not a file: CI systems must not be told it is
a path in the repository.
"""

from __future__ import annotations

import hashlib
import os
from collections import Counter

from octolint.model import Finding
from octolint.reporters._common import STDIN_PATH, normalised_source, relative_posix

DOCKERFILE = "dockerfile"
IMAGE = "image"


def file_of(finding: Finding, *, subject: str, dockerfile: str | None) -> str | None:
    """The finding's file relative to the working directory, or None when it has no file
    (standard input, or an image finding that does not point at the ``--dockerfile``)."""
    if finding.path == STDIN_PATH:
        return None
    if subject == IMAGE and finding.path != dockerfile:
        return None
    return relative_path(finding.path)


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
        key = f"{finding.path}\0{finding.rule_id}\0{normalised_source(finding)}"
        seen[key] += 1
        payload = f"{key}\0{seen[key]}".encode("utf-8", "surrogatepass")
        result.append(hashlib.sha256(payload).hexdigest())
    return result
