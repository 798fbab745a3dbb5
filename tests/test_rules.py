"""Each rule's behaviour, as the Dockerfile issue specifies it."""

from __future__ import annotations

import pytest
from conftest import rule_ids

from octolint import lint_text
from octolint.errors import ConfigError
from octolint.model import Finding


def findings_of(text: str) -> list[Finding]:
    return lint_text(text).findings


def fires(rule: str, text: str, **engine_args: object) -> bool:
    return rule in rule_ids(text, only=rule, **engine_args)


# -- OCT101 / OCT102: CMD and ENTRYPOINT --------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('FROM ubuntu\nENTRYPOINT ["/run.sh"]\n', True),
        ("FROM ubuntu\nentrypoint /run.sh\n", True),  # names are case-insensitive
        ('FROM ubuntu\nENTRYPOINT ["/run.sh"]\nENTRYPOINT []\n', False),  # reset
        ('FROM ubuntu\nENTRYPOINT []\nENTRYPOINT ["/x"]\n', True),  # later one wins
        ('FROM ubuntu AS base\nENTRYPOINT ["/x"]\nFROM base\n', True),  # inherited
        ('FROM ubuntu AS build\nENTRYPOINT ["/x"]\nFROM ubuntu\n', False),  # other stage
        ('FROM ubuntu\nONBUILD ENTRYPOINT ["/x"]\n', False),  # applies to children only
        ("FROM ubuntu\nRUN echo ENTRYPOINT\n", False),
    ],
)
def test_oct101_entrypoint(text: str, expected: bool) -> None:
    assert fires("OCT101", text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('FROM ubuntu\nCMD ["bash"]\n', True),
        ("FROM ubuntu\nCMD bash\n", True),
        ('FROM ubuntu\nCMD ["bash"]\nCMD []\n', False),
        ('FROM ubuntu AS base\nCMD ["x"]\nFROM base\nENTRYPOINT []\n', False),  # cleared
        ('FROM ubuntu AS base\nCMD ["x"]\nFROM base\nRUN true\n', True),
        ('FROM ubuntu\nENTRYPOINT ["a"]\nCMD ["x"]\n', True),  # CMD set in same stage stays
        ('FROM ubuntu\nONBUILD CMD ["x"]\n', False),
    ],
)
def test_oct102_cmd(text: str, expected: bool) -> None:
    assert fires("OCT102", text) is expected


def test_target_stage_becomes_final() -> None:
    text = 'FROM ubuntu AS tools\nCMD ["x"]\nFROM ubuntu AS final\n'
    assert not fires("OCT102", text)
    assert fires("OCT102", text, target_stage="tools")
    assert fires("OCT102", text, target_stage="TOOLS")  # stage names are case-insensitive


def test_unknown_target_is_a_usage_error() -> None:
    with pytest.raises(ConfigError, match="no stage named 'nope'"):
        rule_ids("FROM ubuntu AS a\n", target_stage="nope")


# -- OCT103: musl ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FROM alpine:3.20\n", True),
        ("FROM alpine\n", True),
        ("FROM node:20-alpine3.19\n", True),
        ("FROM mcr.microsoft.com/dotnet/runtime-deps:8.0-alpine\n", True),
        ("FROM amd64/alpine:3.23\n", True),
        ("FROM busybox:1.36-musl\n", True),
        ("FROM busybox:1.36-glibc\n", False),
        ("FROM debian:bookworm-slim\n", False),
        ("ARG BASE=alpine:3.19\nFROM $BASE\n", True),
        ("ARG BASE=alpine\nFROM ${BASE}:3.19\n", True),
        ("ARG TAG\nFROM node:${TAG:-20-alpine}\n", True),
        ("ARG TAG=1\nFROM node:20${TAG:+-alpine}\n", True),
        ("ARG TAG\nFROM node:20${TAG:+-alpine}\n", False),
        ("ARG BASE\nFROM $BASE\n", False),  # unresolvable: say nothing
        ("FROM ${UNDECLARED}\n", False),
        ("FROM alpine AS base\nFROM base AS mid\nFROM mid\n", True),  # alias chain
        ("FROM alpine AS build\nFROM ubuntu\n", False),  # only the final stage counts
    ],
)
def test_oct103_musl(text: str, expected: bool) -> None:
    assert fires("OCT103", text) is expected


@pytest.mark.parametrize(
    ("image", "expected"),
    [("mhart/alpine-node:16", True), ("ghcr.io/linuxserver/baseimage-alpine:3.19", True),
     ("acme/musl-tools:1", True), ("my.alpine.example/app:1", False), ("ubuntu:22.04", False)],
)  # fmt: skip
def test_oct103_a_name_that_says_alpine(image: str, expected: bool) -> None:
    assert fires("OCT103", f"FROM {image}\n") is expected


def test_oct103_build_arg_resolves_base() -> None:
    text = "ARG BASE\nFROM $BASE\n"
    assert fires("OCT103", text, build_args={"BASE": "alpine:3.20"})
    assert not fires("OCT103", text, build_args={"BASE": "ubuntu:24.04"})


def test_buildkit_platform_args_are_linux_amd64_unless_given() -> None:
    # defined without an ARG line, as BuildKit defines them for FROM
    text = ("FROM alpine:3.20 AS build-amd64\nFROM debian:12 AS build-arm64\n"
            "RUN apt-get install -y libicu72\nFROM build-${TARGETARCH}\n")  # fmt: skip
    assert fires("OCT103", text)
    assert not fires("OCT103", text, build_args={"TARGETARCH": "arm64"})
    platform = "FROM alpine:3.20 AS linux-amd64\nFROM ${TARGETOS}-${BUILDARCH}\n"
    assert fires("OCT103", platform)


# -- OCT104: old Windows --------------------------------------------------------
@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("mcr.microsoft.com/windows/servercore:ltsc2016", True),
        ("microsoft/dotnet:2.1-runtime-nanoserver-sac2016", True),
        ("mcr.microsoft.com/windows/servercore:1709", True),
        ("mcr.microsoft.com/windows/nanoserver:1803", True),
        ("microsoft/windowsservercore:1607", True),
        ("mcr.microsoft.com/windows/servercore:10.0.14393.2248", True),
        ("mcr.microsoft.com/windows/servercore:10.0.17134.1", True),
        ("mcr.microsoft.com/dotnet/framework/runtime:4.8-windowsservercore-ltsc2016", True),
        ("mcr.microsoft.com/windows/servercore:ltsc2019", False),
        ("mcr.microsoft.com/windows/servercore:1809", False),
        ("mcr.microsoft.com/windows/servercore:10.0.17763.5329", False),
        ("mcr.microsoft.com/windows/servercore:ltsc2022", False),
        ("node:1709", False),  # a release number only means Windows on a Windows image
    ],
)
def test_oct104_windows(image: str, expected: bool) -> None:
    assert fires("OCT104", f"FROM {image}\n") is expected


# -- OCT105: version managers ------------------------------------------------------
NVM = (
    "FROM ubuntu:22.04\nENV NVM_DIR=/root/.nvm NODE_VERSION=20.11.1\n"
    "RUN curl -o- https://raw.githubusercontent.com/nvm-sh/nvm/v0.39.7/install.sh | bash \\\n"
    ' && . "$NVM_DIR/nvm.sh" && nvm install "$NODE_VERSION"\n'
)


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("", True),
        ('ENV PATH="$NVM_DIR/versions/node/v$NODE_VERSION/bin:$PATH"\n', False),
        ('ENV PATH="/root/.nvm/versions/node/v20.11.1/bin:${PATH}"\n', False),
        ("ENV PATH=$NVM_DIR/current/bin:$PATH\n", False),
        ("ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/bin\n", True),
        ("RUN ln -sf $NVM_DIR/versions/node/v$NODE_VERSION/bin/node /usr/local/bin/node\n", False),
        ("ENV BASH_ENV=/root/.bashrc\n", True),  # only helps bash steps
    ],
)
def test_oct105_nvm(extra: str, expected: bool) -> None:
    assert fires("OCT105", NVM + extra) is expected


def test_oct105_env_before_run_counts_too() -> None:
    lines = NVM.splitlines(keepends=True)
    text = (
        lines[0] + 'ENV PATH="/root/.nvm/versions/node/v20.11.1/bin:$PATH"\n' + "".join(lines[1:])
    )
    assert not fires("OCT105", text)


def test_oct105_nvm_in_heredoc() -> None:
    text = "FROM ubuntu\nRUN <<SCRIPT\n. $NVM_DIR/nvm.sh\nnvm install 20\nSCRIPT\n"
    assert fires("OCT105", text)


def test_oct105_other_stage_does_not_count() -> None:
    assert not fires("OCT105", "FROM ubuntu AS build\nRUN nvm install 20\nFROM ubuntu\n")


@pytest.mark.parametrize(
    ("run", "path", "covered"),
    [
        ("curl https://pyenv.run | bash && pyenv install 3.12", "/root/.pyenv/shims", True),
        ("curl https://pyenv.run | bash && pyenv install 3.12", "/root/.pyenv/bin", False),
        ("rbenv install 3.3.0", "/root/.rbenv/shims", True),
        (
            "curl -s https://get.sdkman.io | bash && sdk install java 21.0.2-tem",
            "/root/.sdkman/candidates/java/current/bin",
            True,
        ),
        ("asdf install nodejs 20.0.0", "/root/.asdf/shims", True),
        ("curl https://sh.rustup.rs -sSf | sh -s -- -y", "/root/.cargo/bin", True),
        (
            "bash Miniconda3-latest-Linux-x86_64.sh -b -p /opt/conda && conda init",
            "/opt/conda/bin",
            True,
        ),
    ],
)
def test_oct105_managers(run: str, path: str, covered: bool) -> None:
    base = f"FROM ubuntu\nRUN {run}\n"
    assert fires("OCT105", base)
    assert fires("OCT105", base + f"ENV PATH={path}:$PATH\n") is not covered


# -- OCT106: PATH in start-up files ------------------------------------------------
@pytest.mark.parametrize(
    ("run", "expected"),
    [
        ("""echo 'export PATH="/opt/tools/bin:$PATH"' >> /root/.bashrc""", True),
        ("""echo 'export PATH=$PATH:/opt/go/bin' >> ~/.profile""", True),
        ("""echo 'PATH=/opt/x/bin:$PATH' | tee -a /etc/profile.d/x.sh""", True),
        ("""echo 'export PATH="/opt/tools/bin:$PATH"' > /dev/null""", False),
        ("""echo 'alias ll="ls -l"' >> ~/.bashrc""", False),
    ],
)
def test_oct106_startup_files(run: str, expected: bool) -> None:
    assert fires("OCT106", f"FROM ubuntu\nRUN {run}\n") is expected


@pytest.mark.parametrize(
    "run",
    [
        # the shell's quoting, as echo and printf write the file
        r"""echo "export PATH=\"/opt/tools/bin:\$PATH\"" >> /root/.bashrc""",
        r"""printf "export PATH=/opt/tools/bin:\$PATH\n" >> /root/.profile""",
        r"""echo 'export PATH="/opt/tools/bin:$PATH"' >> /root/.bashrc""",
    ],
)
def test_oct106_reads_the_directory_as_the_shell_writes_it(run: str) -> None:
    text = f'FROM ubuntu\nRUN {run}\nENV PATH="/opt/tools/bin:$PATH"\n'
    assert not fires("OCT106", text)
    [found] = [f for f in findings_of(f"FROM ubuntu\nRUN {run}\n") if f.rule_id == "OCT106"]
    assert found.message.startswith("/opt/tools/bin is added to PATH")
    assert found.hint == 'Add ENV PATH="/opt/tools/bin:$PATH" to the final stage.'


def test_oct105_and_oct106_read_the_final_path() -> None:
    # a later ENV PATH without $PATH replaces the earlier ones
    nvm = ("FROM ubuntu:22.04\nENV NVM_DIR=/root/.nvm\n"
           "RUN . $NVM_DIR/nvm.sh && nvm install 20.11.1\n"
           "ENV PATH=$NVM_DIR/versions/node/v20.11.1/bin:$PATH\n")  # fmt: skip
    assert not fires("OCT105", nvm)
    assert fires("OCT105", nvm + "ENV PATH=/usr/local/bin:/usr/bin:/bin\n")
    assert not fires("OCT105", nvm + "ENV PATH=/usr/local/bin:$PATH\n")
    assert not fires("OCT105", nvm + "ENV PATH=$UNKNOWN:/usr/bin\n")  # may hold the old one
    profile = ("FROM ubuntu\nRUN echo 'export PATH=/opt/t/bin:$PATH' >> ~/.bashrc\n"
               "ENV PATH=/opt/t/bin:$PATH\n")  # fmt: skip
    assert not fires("OCT106", profile)
    assert fires("OCT106", profile + "ENV PATH=/usr/bin:/bin\n")


def test_one_env_instruction_sees_the_variables_from_before_it() -> None:
    # Docker: `ENV a=x b=$a` gives b the earlier a; here NVM_DIR and NODE_VERSION are
    # empty in that PATH, which reaches nothing
    text = ("FROM ubuntu:22.04\n"
            "ENV NVM_DIR=/usr/local/nvm NODE_VERSION=20.11.1 "
            "PATH=$NVM_DIR/versions/node/v$NODE_VERSION/bin:$PATH\n"
            "RUN . $NVM_DIR/nvm.sh && nvm install $NODE_VERSION\n")  # fmt: skip
    assert fires("OCT105", text)
    split = text.replace("20.11.1 PATH=", "20.11.1\nENV PATH=")
    assert not fires("OCT105", split)
    profile = ("FROM ubuntu\nRUN echo 'export PATH=/opt/x/bin:$PATH' >> ~/.bashrc\n"
               "ENV T=/opt/x PATH=$T/bin:$PATH\n")  # fmt: skip
    assert fires("OCT106", profile)
    assert not fires("OCT106", profile.replace("T=/opt/x PATH", "T=/opt/x\nENV PATH"))


def test_oct106_standard_directories_are_on_every_path() -> None:
    path = "/opt/y/bin:/usr/local/sbin:/usr/local/bin:/usr/bin:/bin"
    run = f"echo 'PATH=\"{path}\"' > /etc/environment"
    found = [f for f in findings_of(f"FROM ubuntu\nRUN {run}\n") if f.rule_id == "OCT106"]
    assert [f.message.split()[0] for f in found] == ["/opt/y/bin"]


def test_oct106_hint_names_the_directory_not_an_unset_variable() -> None:
    text = "FROM ubuntu:22.04\nRUN echo 'export PATH=\"$HOME/.cargo/bin:$PATH\"' >> ~/.zshrc\n"
    [found] = [f for f in findings_of(text) if f.rule_id == "OCT106"]
    assert found.hint == 'Add ENV PATH="/root/.cargo/bin:$PATH" to the final stage.'


def test_oct106_covered_by_env_path() -> None:
    text = (
        "FROM ubuntu\nARG TOOLS=/opt/tools\n"
        """RUN echo 'export PATH="/opt/tools/bin:$PATH"' >> /root/.bashrc\n"""
        'ENV PATH="${TOOLS}/bin:${PATH}"\n'
    )
    assert not fires("OCT106", text)


# -- OCT107: ICU -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("FROM debian:bookworm-slim\n", True),
        ("FROM ubuntu:22.04\nRUN apt-get update && apt-get install -y curl\n", True),
        ("FROM ubuntu:22.04\nRUN apt-get update && apt-get install -y libicu70\n", False),
        (
            "FROM ubuntu:22.04\nRUN apt-get install -y --no-install-recommends powershell=7.4.*\n",
            False,
        ),
        ("FROM fedora:40\nRUN dnf install -y libicu\n", False),
        ("FROM fedora:40\nRUN dnf install -y dotnet-runtime-8.0\n", False),
        ("FROM registry.access.redhat.com/ubi9/ubi-minimal\nRUN microdnf install -y icu\n", False),
        ("FROM registry.access.redhat.com/ubi9/ubi-minimal\n", True),
        ("FROM debian:12\nENV DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1\n", False),
        ("FROM debian:12\nENV DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=true\n", False),
        ("FROM debian:12\nENV DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=0\n", True),
        ("FROM mcr.microsoft.com/dotnet/runtime-deps:8.0\n", False),
        ("FROM octopusdeploy/worker-tools:6.3.0-ubuntu.22.04\n", False),
        ("FROM mcr.microsoft.com/powershell:lts-ubuntu-22.04\n", False),
        ("FROM ghcr.io/acme/ubuntu:24.04\n", False),  # not the official image: unknown
        ("FROM python:3.12-slim\n", True),
        ("FROM python:3.12\n", False),
        ("FROM ubuntu AS build\nRUN apt-get install -y libicu70\nFROM ubuntu\n", True),
        ("FROM ubuntu AS base\nRUN apt-get install -y libicu70\nFROM base\n", False),
        # inside compound commands, joined by continuations or not
        ("FROM debian:12\nRUN if true; then apt-get install -y libicu72; fi\n", False),
        ("FROM debian:12\nRUN if [ -n x ]; then :; else apt-get install -y libicu72; fi\n",
         False),
        ("FROM debian:12\nRUN for p in x; do apt-get install -y libicu72; done\n", False),
        ("FROM debian:12\nRUN set -e; \\\n  if true; then \\\n    apt-get install -y libicu72; "
         "\\\n  fi\n", False),
        # options before the subcommand that take a value of their own
        ("FROM debian:12\nRUN apt-get -o Acquire::Retries=3 install -y libicu72\n", False),
        ("FROM fedora:40\nRUN dnf --setopt install_weak_deps=False install -y libicu\n", False),
        ('FROM redhat/ubi9\nRUN yum --disablerepo "*" --enablerepo ubi-9-baseos install '
         "-y libicu\n", False),
        ("FROM debian:12\nRUN apt-get -o Acquire::Retries=3 install -y curl\n", True),
    ],
)  # fmt: skip
def test_oct107_icu(text: str, expected: bool) -> None:
    assert fires("OCT107", text) is expected


def test_oct107_on_ubi_micro_says_it_has_no_package_manager() -> None:
    [found] = findings_of("FROM registry.access.redhat.com/ubi9/ubi-micro\n")
    assert "has no package manager" in (found.hint or "") and "dnf install" not in (
        found.hint or "").replace("microdnf", "")  # fmt: skip


@pytest.mark.parametrize(
    ("image", "installer"),
    [
        ("amazonlinux:2", "yum"), ("amazonlinux:2023", "dnf"), ("amazonlinux", "dnf"),
        ("centos:7", "yum"), ("oraclelinux:7-slim", "yum"), ("oraclelinux:7", "yum"),
        ("oraclelinux:9-slim", "microdnf"), ("rockylinux:9-minimal", "microdnf"),
        ("rockylinux:9", "dnf"), ("fedora:40", "dnf"),
        ("registry.access.redhat.com/ubi9/ubi-minimal", "microdnf"),
    ],
)  # fmt: skip
def test_oct107_suggests_the_package_manager_the_image_has(image: str, installer: str) -> None:
    [found] = findings_of(f"FROM {image}\n")
    assert found.rule_id == "OCT107"
    assert f"`RUN {installer} install -y libicu`" in (found.hint or "")


# -- OCT109: no shell ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("scratch", True),
        ("gcr.io/distroless/base-debian12", True),
        ("mcr.microsoft.com/dotnet/runtime-deps:8.0-jammy-chiseled", True),
        ("mcr.microsoft.com/dotnet/runtime-deps:8.0-jammy", False),
        ("ubuntu:24.04", False),
    ],
)
def test_oct109_no_shell(image: str, expected: bool) -> None:
    assert fires("OCT109", f"FROM {image}\n") is expected


# -- OCT100 ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "",
        "# just a comment\n",
        "FROM ubuntu\nRUN <<EOF\nnever closed\n",
        "FROM ubuntu\nFOO bar\n",
        "RUN echo before from\nFROM ubuntu\n",
        'FROM ubuntu\nCMD ["a", 1]\n',
        "FROM ubuntu\nENV a\n",
    ],
)
def test_oct100_parse_errors(text: str) -> None:
    assert rule_ids(text) == ["OCT100"]
