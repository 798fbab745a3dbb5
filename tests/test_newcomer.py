"""Issue 16: help and messages a newcomer understands, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli
from imagebuild import build_image, tar_layer, write_oci_archive

from octolint.cli import COMMAND_EXAMPLES, cli


def test_top_level_help_shows_lint_options_and_an_example_of_every_command() -> None:
    result = run_cli(["--help"])
    assert result.returncode == 0
    for option in ("--format", "--output", "--fail-on", "--ignore", "--build-arg", "--target"):
        assert option in result.stdout, option
    lines = result.stdout.splitlines()
    for name in cli.commands:  # type: ignore[attr-defined]
        example = COMMAND_EXAMPLES[name][0]
        assert example.startswith(f"octolint {name}")
        assert any(line.strip().startswith(example) for line in lines), name


def test_a_mistyped_command_gets_did_you_mean(tmp_path: Path) -> None:
    result = run_cli(["imag", "foo"], cwd=tmp_path)
    assert result.returncode == 2
    assert "did you mean 'octolint image'?" in result.stderr
    assert "no such file" not in result.stderr


def test_an_existing_path_named_like_a_command_is_linted(tmp_path: Path) -> None:
    (tmp_path / "imag").write_text("FROM ubuntu:22.04\nRUN apt-get install -y libicu70\n")
    result = run_cli(["imag"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr


def test_a_missing_file_far_from_any_command_is_an_input_error(tmp_path: Path) -> None:
    result = run_cli(["Dockerfil"], cwd=tmp_path)
    assert result.returncode == 3
    assert "Dockerfil: no such file or directory" in result.stderr


# --- fix hints name the packages of the image's distribution ---------------------------

OS_RELEASES = {
    "debian": ('ID=debian\nVERSION_ID="12"\n', "apt-get update && apt-get install -y "
               "--no-install-recommends", "libicu72", "libstdc++6 libgcc-s1 zlib1g libssl3"),
    "ubuntu": ('ID=ubuntu\nID_LIKE=debian\nVERSION_ID="24.04"\n', "apt-get update && "
               "apt-get install -y --no-install-recommends", "libicu74",
               "libstdc++6 libgcc-s1 zlib1g libssl3"),
    "ubi": ('ID="rhel"\nID_LIKE="fedora"\nVERSION_ID="9.4"\n', "dnf install -y", "libicu",
            "libstdc++ libgcc zlib openssl-libs"),
    "alpine": ("ID=alpine\nVERSION_ID=3.19.1\n", "apk add --no-cache", "icu-libs",
               "libstdc++ libgcc zlib libssl3"),
    "opensuse": ('ID="opensuse-leap"\nID_LIKE="suse opensuse"\n',
                 "zypper --non-interactive install", "libicu",
                 "libstdc++6 libgcc_s1 libz1 libopenssl3"),
}  # fmt: skip


@pytest.mark.parametrize("distro", sorted(OS_RELEASES))
def test_oct204_and_oct205_fixes_name_the_distributions_packages(
    tmp_path: Path, distro: str
) -> None:
    os_release, install, icu_package, dotnet_packages = OS_RELEASES[distro]
    files = {"etc/os-release": os_release, "lib64/ld-linux-x86-64.so.2": b"\x7fELF"}
    write_oci_archive(tmp_path / "img.tar", [("img", build_image([tar_layer(files)]))])
    result = run_cli(["image", "-f", "json", "img.tar"], cwd=tmp_path,
                     env={"OCTOLINT_CACHE_DIR": str(tmp_path / "cache")})  # fmt: skip
    assert result.returncode == 1, result.stderr
    hints = {(f["rule_id"], f["severity"]): f["hint"]
             for f in json.loads(result.stdout)["findings"]}  # fmt: skip
    assert hints["OCT204", "error"] == (
        f"add `RUN {install} {icu_package}` to the Dockerfile, "
        "or set ENV DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1."
    )
    assert hints["OCT205", "error"] == f"add `RUN {install} {dotnet_packages}` to the Dockerfile."


def test_an_unknown_distribution_gets_the_general_hint(tmp_path: Path) -> None:
    files = {"etc/os-release": "ID=plan9\n", "lib64/ld-linux-x86-64.so.2": b"\x7fELF"}
    write_oci_archive(tmp_path / "img.tar", [("img", build_image([tar_layer(files)]))])
    result = run_cli(["image", "-f", "json", "img.tar"], cwd=tmp_path,
                     env={"OCTOLINT_CACHE_DIR": str(tmp_path / "cache")})  # fmt: skip
    hints = {f["rule_id"]: f["hint"] for f in json.loads(result.stdout)["findings"]}
    assert "install" in hints["OCT204"].lower() and "OCT205" in hints


def test_oct207_with_dockerfile_points_at_the_run_that_installed_the_manager(
    tmp_path: Path,
) -> None:
    bin_dir = "root/.nvm/versions/node/v20.0.0/bin"
    files = {"etc/os-release": "ID=debian\nVERSION_ID=12\n",
             f"{bin_dir}/node": b"\x7fELF fake node"}  # fmt: skip
    layer = tar_layer(files, dirs=[bin_dir])  # executable: it is in a bin/ directory
    write_oci_archive(tmp_path / "img.tar", [("img", build_image([layer]))])
    (tmp_path / "Dockerfile").write_text(
        "FROM debian:12\n"
        "RUN apt-get update\n"
        "RUN curl -o- https://raw.githubusercontent.com/nvm-sh/nvm/v0.39.7/install.sh | bash \\\n"
        " && . /root/.nvm/nvm.sh && nvm install 20\n",
        encoding="utf-8",
    )
    result = run_cli(["image", "-f", "json", "--dockerfile", "Dockerfile", "img.tar"],
                     cwd=tmp_path, env={"OCTOLINT_CACHE_DIR": str(tmp_path / "cache")})  # fmt: skip
    (finding,) = [f for f in json.loads(result.stdout)["findings"] if f["rule_id"] == "OCT207"]
    assert (finding["file"], finding["line"], finding["end_line"]) == ("Dockerfile", 3, 4)
    assert finding["location"]["path"] == f"/{bin_dir}"


def test_build_arg_name_alone_takes_the_value_from_the_environment(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("ARG BASE\nFROM $BASE\n", encoding="utf-8")
    from_env = run_cli(["--build-arg", "BASE", "Dockerfile"], cwd=tmp_path,
                       env={"BASE": "alpine:3.20"})  # fmt: skip
    assert from_env.returncode == 1 and "alpine:3.20" in from_env.stdout  # OCT103: musl
    unset = run_cli(["--build-arg", "OCTOLINT_TEST_UNSET_ARG", "Dockerfile"], cwd=tmp_path)
    assert unset.returncode == 0, unset.stderr + unset.stdout  # left unset, as docker build


def test_configuration_findings_use_paths_relative_to_the_working_directory(
    tmp_path: Path,
) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / ".octolint.toml").write_text('ignore = ["OCT999"]\n', encoding="utf-8")
    (tmp_path / "app/Dockerfile").write_text(
        "FROM ubuntu:22.04\nRUN apt-get install -y libicu70\n", encoding="utf-8"
    )
    result = run_cli(["-f", "json", "app/Dockerfile"], cwd=tmp_path)
    files = {f["rule_id"]: f["file"] for f in json.loads(result.stdout)["findings"]}
    assert files == {"OCT001": ".octolint.toml"}
    human = run_cli(["app/Dockerfile"], cwd=tmp_path)
    assert ".octolint.toml:1:1" in human.stdout and str(tmp_path) not in human.stdout


def test_a_password_from_the_users_own_sample_values_is_not_called_published(
    tmp_path: Path,
) -> None:
    (tmp_path / ".octolint.toml").write_text(
        '[rules.OCT301]\nsample-values = ["OurOldPassw0rd"]\n', encoding="utf-8"
    )
    (tmp_path / "compose.yaml").write_text(
        "services:\n  db:\n    image: mcr.microsoft.com/mssql/server:2022-latest\n"
        "    environment:\n      ACCEPT_EULA: 'Y'\n      SA_PASSWORD: OurOldPassw0rd\n"
        "  web:\n    image: mcr.microsoft.com/mssql/server:2022-latest\n"
        "    environment:\n      ACCEPT_EULA: 'Y'\n      SA_PASSWORD: N0tS3cr3t!\n",
        encoding="utf-8",
    )
    result = run_cli(["deploy", "-f", "json", "compose.yaml"], cwd=tmp_path)
    messages = sorted(f["message"] for f in json.loads(result.stdout)["findings"]
                      if f["rule_id"] == "OCT301")  # fmt: skip
    assert len(messages) == 2, messages
    own = [m for m in messages if "sample-values" in m]
    assert len(own) == 1 and "published" not in own[0]
    assert any("published in the Octopus examples" in m for m in messages)


def test_rules_table_aligns_every_column() -> None:
    from octolint.rulebook import load_rules

    result = run_cli(["rules"])
    lines = result.stdout.splitlines()
    rules = load_rules()
    assert len(lines) == len(rules)
    starts = {line.index(rule.summary) for line, rule in zip(lines, rules)}
    assert len(starts) == 1, "summaries start in one column"
    kinds = {line.index(f" {rule.applies_to} ") for line, rule in zip(lines, rules)}
    assert len(kinds) == 1


def test_entrypoint_messages_show_commands_as_a_shell_would(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(
        'FROM ubuntu:22.04\nENTRYPOINT ["docker-entrypoint.sh"]\nCMD ["node", "app.js"]\n',
        encoding="utf-8",
    )
    result = run_cli(["-f", "json", "Dockerfile"], cwd=tmp_path)
    messages = [f["message"] for f in json.loads(result.stdout)["findings"]]
    assert {"OCT101", "OCT102"} <= {f["rule_id"] for f in json.loads(result.stdout)["findings"]}
    assert not any("['" in m or "']" in m for m in messages), messages


def test_image_findings_name_the_image_and_show_commands_as_a_shell_would(
    tmp_path: Path,
) -> None:
    files = {"etc/os-release": "ID=debian\nVERSION_ID=12\n"}
    image = build_image([tar_layer(files)], entrypoint=["docker-entrypoint.sh"],
                        cmd=["node", "my app.js"])  # fmt: skip
    write_oci_archive(tmp_path / "alpine.tar", [("app", image)])
    result = run_cli(["image", "alpine.tar"], cwd=tmp_path,
                     env={"OCTOLINT_CACHE_DIR": str(tmp_path / "cache")})  # fmt: skip
    assert "Entrypoint is `docker-entrypoint.sh`" in result.stdout
    assert "`node 'my app.js'`" in result.stdout
    assert "alpine.tar (linux/amd64)  warning  OCT201" in result.stdout
    assert "alpine.tar:1:1" not in result.stdout and "['" not in result.stdout
    assert result.stdout.rstrip().splitlines()[-2].endswith("in 1 image; 1 image checked.")
