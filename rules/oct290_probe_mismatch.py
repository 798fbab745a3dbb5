"""OCT290 probe-mismatch: running the image disagrees with what octolint read statically.

Only with `octolint image --probe`. octolint normally never runs image
content; with `--probe` it starts the image once (entrypoint replaced, no
network, read-only, memory, pids and time limits) and asks the image's own
dynamic loader to load each library OCT204/OCT205 look for
(`LD_PRELOAD=SONAME /bin/sh -c :`), and reads `/etc/os-release`. Where that
disagrees with the static reading of the layers (the distribution, or whether
ICU, OpenSSL, libstdc++, libgcc_s or zlib can be loaded), this warning says
so: trust the probe. The usual cause is a library whose file is present but
which cannot load, for example because a later layer deleted one of its own
dependencies (`libicuuc.so.72` without `libicudata.so.72`): .NET fails on
such an image although the file is there.

Fails: an image whose layers hold `libicuuc.so.72` but whose loader cannot
load it (its `libicudata.so.72` was deleted by a later layer).

Passes: any image where both agree (the normal case), including images whose
`/etc/ld.so.cache` is stale, since the loader also searches its default
directories.

The same as images, in the form octolint's tests build in memory and run
(docs/adding-a-rule.md):

Fails:

```image
{"base": "debian",
 "probe": {"loadable": {"libicuuc.so.72": false}, "loader_checked": true}}
```

Passes:

```image
{"base": "debian",
 "probe": {"loadable": {"libicuuc.so.72": true}, "loader_checked": true}}
```

How to fix: make the library loadable (reinstall the package whose files a
later layer deleted); if the probe and the layers disagree for another reason,
please report the image so the static reading can be fixed.
"""

from __future__ import annotations

from collections.abc import Iterator

from octolint.knowledge import icu
from octolint.knowledge.dotnet import PROBED
from octolint.plugin import ImageTarget, Options, Problem, SarifScore, problem_at

ID = "OCT290"
NAME = "probe-mismatch"
SEVERITY = "warning"
APPLIES_TO = "image"
SUMMARY = "With --probe: running the image disagrees with the static reading."
HINT = "Trust the probe: make the library loadable, or report the image if its layers look right."
SARIF_SCORE = SarifScore("3.0", "high")  # a cross-check disagreeing, not a failure itself

# What the probe asks the loader about (see octolint.image.probe), in report order.
CHECKED = {"ICU": icu.SONAME, **{library.name: library.pattern for library in PROBED}}


def check(target: ImageTarget, options: Options) -> Iterator[Problem]:
    probe = target.probe
    if probe is None or target.fs is None:
        return
    static_id, probed_id = target.distro, probe.os_release.get("ID", "").lower()
    if probed_id and static_id != probed_id:
        yield problem_at(
            target.at(None),
            f"the image says it is '{probed_id}' when run, but its layers' "
            f"/etc/os-release says '{static_id or 'nothing'}'",
        )
    if not probe.loader_checked:  # no dynamic loader answered (static shell): nothing to compare
        return
    for label, pattern in CHECKED.items():
        probed = sorted(s for s in probe.sonames if pattern.match(s))
        # Only sonames the probe tried can be compared.
        static = {s: p for s, p in target.libraries_matching(pattern.pattern).items()
                  if s in probe.loadable}  # fmt: skip
        if bool(probed) != bool(static):
            shown = ", ".join(f"{s} at {p}" for s, p in sorted(static.items()))
            # the first library the layers show (and its layer) is where to look
            first = min(static.items())[1] if static else None
            yield problem_at(
                target.at(None, file=first),
                f"{label}: in the running image the dynamic loader loads "
                f"{', '.join(probed) or 'none of them'}, but the layers show "
                f"{shown or 'none'}",
            )
