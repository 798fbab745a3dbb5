"""Image rules read the config and PATH as the container runtime does (QA of 2026-12-07):
config keys in any case, the default PATH when the config sets none, a tool linked onto
PATH is found, and only the program interpreter path is a dynamic loader."""

from __future__ import annotations

from imagefixture import (
    DEBIAN_PATH,
    DIR,
    WHITEOUT,
    Exe,
    Link,
    debian,
    finding_ids,
    findings,
    image_target,
    linux,
)

NVM = "/root/.nvm/versions/node/v20.11.1/bin"


def test_a_config_without_path_gets_the_runtimes_default() -> None:
    # ko, Bazel and hand-written configs: Docker gives the container its default PATH
    assert finding_ids(image_target(debian(), {"config": {"Cmd": ["bash"]}}), "OCT208") == []
    no_bash = debian({"/bin/bash": WHITEOUT})
    [found] = findings(image_target(no_bash, {"config": {}}), "OCT208")
    assert "(/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)" in found.message


def test_config_keys_are_read_in_any_case_as_docker_reads_them() -> None:
    entrypoint = {"config": {"Env": [DEBIAN_PATH], "entrypoint": ["/docker-entrypoint.sh"]}}
    assert finding_ids(image_target(debian(), entrypoint), "OCT201") == ["OCT201"]
    lower = {"config": {"env": ["PATH=/opt/none"], "ENV": [DEBIAN_PATH]}}  # the last wins
    assert finding_ids(image_target(debian(), lower), "OCT208") == []


def test_a_tool_linked_onto_path_is_found() -> None:
    installed = {f"{NVM}/node": Exe(), f"{NVM}/npm": Exe()}
    linked = {"/usr/local/bin/node": Link(f"{NVM}/node"), "/usr/local/bin/npm": Link(f"{NVM}/npm")}
    config = linux([DEBIAN_PATH])
    assert finding_ids(image_target(debian(installed, linked), config), "OCT207") == []
    # one linked, one not: the message names only what PATH does not find
    half = {"/usr/local/bin/node": Link(f"{NVM}/node")}
    [found] = findings(image_target(debian(installed, half), config), "OCT207")
    assert found.message.startswith(f"{NVM} holds executables (npm) but")


def test_another_version_of_a_tool_on_path_is_enough() -> None:
    old = "/root/.nvm/versions/node/v18.19.0/bin"
    layer = {f"{NVM}/node": Exe(), f"{old}/node": Exe()}
    config = linux([f"PATH={NVM}:/usr/bin:/bin"])
    assert finding_ids(image_target(debian(layer), config), "OCT207") == []
    assert finding_ids(image_target(debian(layer), linux([DEBIAN_PATH])), "OCT207") == [
        "OCT207", "OCT207",
    ]  # fmt: skip


def test_a_loader_only_off_the_interpreter_path_is_no_loader() -> None:
    moved = debian({"/lib64/ld-linux-x86-64.so.2": WHITEOUT, "/usr/lib64": DIR,
                    "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2": Exe()})  # fmt: skip
    [found] = findings(image_target(moved, linux([DEBIAN_PATH])), "OCT203")
    assert "no dynamic loader" in found.message


ICU_DIR = "/usr/lib/x86_64-linux-gnu"


def test_icu_needs_libicui18n_of_the_same_version() -> None:
    # .NET loads libicuuc.so.N, then libicui18n.so.N, and passes over N without it
    no_i18n = debian({f"{ICU_DIR}/libicui18n.so.72": WHITEOUT})
    [found] = findings(image_target(no_i18n, linux([DEBIAN_PATH])), "OCT204")
    assert "libicui18n.so.N" in found.message
    other = {f"{ICU_DIR}/libicui18n.so.72": WHITEOUT, f"{ICU_DIR}/libicui18n.so.70": b""}
    mismatched = debian(other)
    assert finding_ids(image_target(mismatched, linux([DEBIAN_PATH])), "OCT204") == ["OCT204"]


def test_invariant_mode_is_read_exactly_as_dotnet_reads_it() -> None:
    no_icu = debian({f"{ICU_DIR}/libicuuc.so.72": WHITEOUT})
    for value, invariant in [("1", True), ("true", True), ("TRUE", True), ("1 ", False),
                             (" true", False), ("yes", False), ("0", False)]:  # fmt: skip
        config = linux([DEBIAN_PATH, f"DOTNET_SYSTEM_GLOBALIZATION_INVARIANT={value}"])
        expected = [] if invariant else ["OCT204"]
        assert finding_ids(image_target(no_icu, config), "OCT204") == expected, value


def test_platforms_are_normalised_as_containerd_does() -> None:
    from octolint.image.model import Platform

    image = {"arm64": Platform("linux", "arm64"), "arm": Platform("linux", "arm"),
             "arm6": Platform("linux", "arm", "v6"),
             "amd64": Platform("linux", "amd64")}  # fmt: skip
    for wanted, found in [("linux/arm64/v8", "arm64"), ("linux/aarch64", "arm64"),
                          ("linux/arm/v7", "arm"), ("linux/arm", "arm"), ("linux/armhf", "arm"),
                          ("linux/x86_64", "amd64"), ("linux/arm/v6", "arm6")]:  # fmt: skip
        matching = [name for name, platform in image.items()
                    if platform.matches(Platform.parse(wanted))]  # fmt: skip
        assert matching == [found], wanted


def test_architectures_calamari_has_no_build_for() -> None:
    for config, expected in [
        ({"architecture": "arm", "variant": "v7"}, []),
        ({"architecture": "arm"}, []),  # v7 by default
        ({"architecture": "arm", "variant": "v6"}, ["OCT209"]),
        ({"architecture": "arm", "variant": "v5"}, ["OCT209"]),
        ({"architecture": "arm64", "variant": "v8"}, []),
        ({"architecture": "s390x"}, ["OCT209"]),
        ({"os": "windows", "architecture": "arm64", "os.version": "10.0.20348.1"}, ["OCT209"]),
        ({"os": "windows", "architecture": "amd64", "os.version": "10.0.20348.1"}, []),
    ]:
        assert finding_ids(image_target(debian(), config), "OCT209") == expected, config
