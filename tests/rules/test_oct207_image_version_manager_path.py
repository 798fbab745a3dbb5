"""OCT207 image-version-manager-path: a manager's bin directory, and its layer."""

from imagefixture import REFERENCE, Exe, Link, debian, findings, image_target, layer_digest, linux

from octolint.model import ImageLocation

NODE_BIN = "/root/.nvm/versions/node/v20.11.1/bin"
NVM = {f"{NODE_BIN}/node": Exe(), f"{NODE_BIN}/npm": Link("../lib/npm-cli.js")}


def test_nvm_bin_not_on_path() -> None:
    target = image_target(debian(NVM), linux())
    found = findings(target, "OCT207")
    assert [(f.rule_id, f.location) for f in found] == [
        ("OCT207", ImageLocation(REFERENCE, "linux/amd64", NODE_BIN, layer_digest(target, 1)))
    ]
    assert "(node)" in found[0].message  # the dangling npm link is no executable
    assert found[0].hint == f'Add ENV PATH="{NODE_BIN}:$PATH" to the Dockerfile.'


def test_on_path_passes() -> None:
    env = [f"PATH={NODE_BIN}:/usr/bin:/bin"]
    assert findings(image_target(debian(NVM), linux(env)), "OCT207") == []


def test_reached_through_a_symlink_passes() -> None:
    linked = {**NVM, "/opt/node": Link(NODE_BIN)}
    assert findings(image_target(debian(linked), linux(["PATH=/opt/node:/bin"])), "OCT207") == []


def test_sdkman_current_symlink_is_followed() -> None:
    sdkman = {"/root/.sdkman/candidates/java/21/bin/java": Exe(),
              "/root/.sdkman/candidates/java/current": Link("21")}  # fmt: skip
    found = findings(image_target(debian(sdkman), linux()), "OCT207")
    assert [f.location.path for f in found] == ["/root/.sdkman/candidates/java/current/bin"]
