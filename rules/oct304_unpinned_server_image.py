"""OCT304 unpinned-server-image: the Octopus Server image has no version tag.

`octopusdeploy/octopusdeploy` without a tag, with `latest`, or with an
empty tag after interpolation (`:${OCTOPUS_SERVER_TAG}` when `.env` leaves
it empty) means a restart can pull a newer Octopus, which upgrades the
database schema on start-up: there is no way back but a restore, and the
other nodes of a cluster stop working. A digest (`@sha256:...`) pins too.

Fails:

```yaml
services:
  octopus:
    image: octopusdeploy/octopusdeploy
    privileged: true
```

Passes:

```yaml
services:
  octopus:
    image: octopusdeploy/octopusdeploy:2024.1.12345
    privileged: true
```

How to fix: name the exact version (`octopusdeploy/octopusdeploy:2024.1.12345`,
or `OCTOPUS_SERVER_TAG=2024.1.12345` in `.env`) and upgrade deliberately,
with a database backup.
"""

from __future__ import annotations

from collections.abc import Iterator

from octolint.plugin import DeployTarget, Options, Problem, SarifScore, problem_at

ID = "OCT304"
NAME = "unpinned-server-image"
SEVERITY = "warning"
APPLIES_TO = "deploy"
SUMMARY = "The Octopus Server image has no version tag (or latest): restarts may upgrade it."
HINT = "Pin the version: octopusdeploy/octopusdeploy:2024.1.12345."
SARIF_SCORE = SarifScore("5.0", "very-high")  # a restart may upgrade irreversibly


def check(target: DeployTarget, options: Options) -> Iterator[Problem]:
    for container in target.octopus_servers():
        ref = container.image_ref
        if ref is None or container.image is None or ref.digest:
            continue
        if ref.tag is None or ref.tag == "latest":
            what = "the 'latest' tag" if ref.tag else "no tag"
            yield problem_at(container.image, f"the Octopus Server image has {what}"
                             f"{container.image.origin}: a restart can pull a newer version that "
                             "upgrades the database schema with no way back")  # fmt: skip
