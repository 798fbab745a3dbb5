"""OCT001 unknown-rule: a pragma or the configuration names a rule that does not exist.

A typo in `# octolint ignore=OCT1O1` or in `ignore = ["OCT10"]` would
otherwise silence nothing without anyone noticing. octolint reports every
rule id or name it does not know (in pragmas, in the configuration file and
in `--ignore`), and every comment that starts with `octolint` but is not a
valid pragma, as a note.

Fails:

```dockerfile
FROM ubuntu:22.04
# octolint ignore=OCT999
RUN apt-get update
```

Passes:

```dockerfile
FROM ubuntu:22.04
# octolint ignore=OCT107
RUN apt-get update
```

How to fix: correct the rule id (`octolint rules` lists them all) or delete it.
"""

from __future__ import annotations

from collections.abc import Iterator

from octolint.plugin import DockerfileTarget, Options, Problem, SarifScore

ID = "OCT001"
NAME = "unknown-rule"
SEVERITY = "note"
APPLIES_TO = "dockerfile"
SUMMARY = "A pragma or the configuration names a rule that does not exist."
HINT = "Correct the rule id (see `octolint rules`) or remove it."
SARIF_SCORE = SarifScore("1.0", "very-high")  # a rule id that does not exist: a typo


def check(target: DockerfileTarget, options: Options) -> Iterator[Problem]:
    # The engine itself reports these, since it is the one that reads pragmas
    # and configuration; this module carries the rule's metadata and docs.
    return iter(())
