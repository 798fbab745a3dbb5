"""OCT290 probe-mismatch: running the image disagrees with what octolint read statically.

Only with `octolint image --probe`. octolint normally never runs image
content; with `--probe` it starts the image once (entrypoint cleared, no
network, read-only, memory and time limits) and runs `cat /etc/os-release`
and `ldconfig -p`. Where that disagrees with the static reading of the
layers (the distribution, or whether ICU, OpenSSL, libstdc++, libgcc_s or
zlib is present), this warning says so: trust the probe, and please report
the image so the static reading can be fixed.

Fails: an image whose `ldconfig -p` lists `libicuuc.so.72` where the layers
show none.

Passes: any image where both agree (the normal case).

How to fix: nothing to fix in the image; report the disagreement.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from octolint.image.target import ImageTarget
from octolint.model import Problem

ID = "OCT290"
NAME = "probe-mismatch"
SEVERITY = "warning"
APPLIES_TO = "image"
SUMMARY = "With --probe: running the image disagrees with the static reading."
HINT = "Trust the probe, and report the image so octolint's static reading can be fixed."

CHECKED = {
    "ICU": re.compile(r"^libicuuc\.so\.\d+$"),
    "OpenSSL": re.compile(r"^libssl\.so\.(3|1\.1|1\.0\.2|1\.0\.0|10)$"),
    "libstdc++": re.compile(r"^libstdc\+\+\.so\.6$"),
    "libgcc_s": re.compile(r"^libgcc_s\.so\.1$"),
    "zlib": re.compile(r"^libz\.so\.1$"),
}


def check(target: ImageTarget, options: Mapping[str, Any]) -> Iterator[Problem]:
    probe = target.probe
    if probe is None or target.fs is None:
        return
    static_id, probed_id = target.distro, probe.os_release.get("ID", "").lower()
    if probed_id and static_id != probed_id:
        yield Problem(message=f"the image says it is '{probed_id}' when run, but its layers' "
                      f"/etc/os-release says '{static_id or 'nothing'}'")  # fmt: skip
    if not probe.ldconfig_ran:
        return
    for label, pattern in CHECKED.items():
        probed = sorted(s for s in probe.sonames if pattern.match(s))
        static = sorted(target.libraries_matching(pattern.pattern))
        if bool(probed) != bool(static):
            yield Problem(
                message=f"{label}: ldconfig -p in the running image lists "
                f"{', '.join(probed) or 'nothing'}, the layers show "
                f"{', '.join(static) or 'nothing'}"
            )
