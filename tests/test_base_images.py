"""Issue 13 (2, 4): what well-known base images bring, as the CLI reports it.

Each case is a Dockerfile of the shape the issue names; all of a test's cases are
linted by one CLI process (``--format json``), and each file's findings are checked.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import run_cli

from octolint.knowledge.base_images import KNOWN, facts

Findings = dict[str, list[tuple[str, int, str]]]


def lint_files(tmp_path: Path, files: dict[str, str], rule: str) -> Findings:
    """{file name: [(rule, line, message)]} for one rule, from one CLI run."""
    paths = []
    for name, text in files.items():
        path = tmp_path / name / "Dockerfile"
        path.parent.mkdir(parents=True)
        path.write_text(text, encoding="utf-8")
        paths.append(str(path))
    result = run_cli(["--format", "json", "--fail-on", "never", *paths])
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    found: Findings = {name: [] for name in files}
    for finding in json.loads(result.stdout)["findings"]:
        if finding["rule_id"] != rule:
            continue
        name = Path(finding["file"]).parent.name
        found[name].append((finding["rule_id"], finding["line"], finding["message"]))
    return found


def check_cases(tmp_path: Path, rule: str, cases: dict[str, tuple[str, int | None]]) -> Findings:
    """cases: {name: (Dockerfile text, the line the rule reports, or None for silence)}."""
    found = lint_files(tmp_path, {name: text for name, (text, _) in cases.items()}, rule)
    for name, (_text, line) in cases.items():
        lines = [at for _rule, at, _message in found[name]]
        assert lines == ([line] if line else []), (name, found[name])
    return found


# -- OCT101: an ENTRYPOINT inherited from a well-known base ------------------------------
ENTRYPOINT_CASES = {
    "node-bookworm": ("FROM node:20-bookworm\nRUN npm i -g firebase-tools\n", 1),
    "node-alpine-old": ("FROM node:10.15.3-alpine\n", 1),
    "node-arg-tag": ("ARG VARIANT=16-bullseye\nFROM node:${VARIANT}\n", 2),
    "node-unknown-tag": ("ARG VARIANT\nFROM node:${VARIANT}\n", 2),  # every node tag has it
    "node-via-alias": ("FROM node:20 AS base\nRUN true\nFROM base\nRUN true\n", 1),
    "nginx": ("FROM nginx:latest\nCOPY dist /usr/share/nginx/html\n", 1),
    "nginx-before-1.19": ("FROM nginx:1.15-alpine\n", None),
    "distroless-node": ("FROM gcr.io/distroless/nodejs22-debian13\nCOPY . /app\n", 1),
    "distroless-java": ("FROM gcr.io/distroless/java17-debian13\n", 1),
    "terraform": ("FROM hashicorp/terraform:1.9\n", 1),
    "node-before-may-2019": ("FROM node:8.9.4\n", None),  # no ENTRYPOINT in those builds
    "temurin": ("FROM eclipse-temurin:21-jre\n", 1),
    "temurin-before-aug-2023": ("FROM eclipse-temurin:17.0.5_8-jdk\n", None),
    "reset": ("FROM node:20\nENTRYPOINT []\n", None),
    "own-wins": ("FROM node:20\nENTRYPOINT [\"/x\"]\n", 2),  # its own, reported there
    "python": ("FROM python:3.12\n", None),  # sets only CMD
    "ubuntu": ("FROM ubuntu:24.04\n", None),
    "unknown": ("FROM ghcr.io/acme/node:20\n", None),  # not the official image: unknown
    "unknown-arg": ("ARG BASE\nFROM ${BASE}\n", None),
}


def test_oct101_inherited_from_a_well_known_base(tmp_path: Path) -> None:
    found = check_cases(tmp_path, "OCT101", ENTRYPOINT_CASES)
    message = found["node-bookworm"][0][2]
    assert 'inherits ENTRYPOINT ["docker-entrypoint.sh"]' in message
    assert "node:20-bookworm" in message
    assert "/nodejs/bin/node" in found["distroless-node"][0][2]


# -- OCT103: musl, from the table and from the known part of a tag ------------------------
MUSL_CASES = {
    "dotnet-alpine-platform": (
        "ARG PLATFORM\nFROM mcr.microsoft.com/dotnet/runtime:7.0-alpine-${PLATFORM}\n", 2),
    "alpine-variant": ("ARG VARIANT\nFROM alpine:${VARIANT}\n", 2),
    "terraform": ("FROM hashicorp/terraform:light\nRUN apk add curl\n", 1),
    "docker-cli": ("FROM docker:27-cli\n", 1),
    "node-unknown-tag": ("ARG TAG\nFROM node:${TAG}\n", None),  # the tag decides: unknown
    "python-slim": ("FROM python:3.12-slim\n", None),  # glibc
    "unknown-name": ("ARG REGISTRY\nFROM ${REGISTRY}/alpine:3.20\n", None),  # name unknown
}  # fmt: skip


def test_oct103_musl_from_the_table_and_partial_tags(tmp_path: Path) -> None:
    check_cases(tmp_path, "OCT103", MUSL_CASES)


# -- OCT104: legacy Docker Hub Windows repositories ---------------------------------------
WINDOWS_CASES = {
    "nanoserver-latest": ("FROM microsoft/nanoserver\n", 1),
    "servercore-1803": ("FROM microsoft/windowsservercore:1803\n", 1),
    "servercore-any": ("FROM microsoft/windowsservercore:10.0.14393.2068\n", 1),
    "mcr-ltsc2019": ("FROM mcr.microsoft.com/windows/servercore:ltsc2019\n", None),
    "mcr-no-tag": ("FROM mcr.microsoft.com/windows/nanoserver\n", None),
}


def test_oct104_every_legacy_tag_is_older_than_17763(tmp_path: Path) -> None:
    found = check_cases(tmp_path, "OCT104", WINDOWS_CASES)
    assert "legacy microsoft/nanoserver repository" in found["nanoserver-latest"][0][2]


# -- OCT109: distroless in the name or tag; :debug has busybox ----------------------------
SHELL_CASES = {
    "gcr-distroless": ("FROM gcr.io/distroless/base\n", 1),
    "any-distroless-repo": ("FROM registry.example.com/team/distroless-python:3\n", 1),
    "azurelinux-distroless-tag": (
        "FROM mcr.microsoft.com/dotnet/runtime:10.0-azurelinux3.0-distroless\n", 1),
    "chiseled": ("FROM mcr.microsoft.com/dotnet/runtime-deps:8.0-jammy-chiseled\n", 1),
    "distroless-debug": ("FROM gcr.io/distroless/base:debug\n", None),
    "debian": ("FROM debian:12\n", None),
}  # fmt: skip


def test_oct109_distroless_anywhere_in_the_name(tmp_path: Path) -> None:
    check_cases(tmp_path, "OCT109", SHELL_CASES)


# -- OCT107: ICU from the base, and through dependencies -----------------------------------
ICU_CASES = {
    "node-bookworm": ("FROM node:20-bookworm\n", None),  # buildpack-deps: libxml2 -> libicu
    "node-slim": ("FROM node:20-bookworm-slim\nRUN apt-get install -y curl\n", 1),
    "ruby-slim": ("FROM ruby:3.3-slim\n", 1),
    "python-slim-lxml": ("FROM python:3.12-slim\nRUN apt-get install -y python3-lxml\n", None),
    "ubuntu-software-properties": (
        "FROM ubuntu:20.04\nRUN apt-get install -y --no-install-recommends "
        "software-properties-common\n", None),
    "debian-rpm": ("FROM debian:12\nRUN apt-get install -y rpm\n", None),
    "debian-libarchive-tools": ("FROM debian:12\nRUN apt-get install -y libarchive-tools\n", None),
    "debian-libxml2": ("FROM debian:12\nRUN apt-get install -y libxml2\n", None),
    "debian-powershell": ("FROM debian:12\nRUN apt-get install -y powershell\n", None),
    "ubuntu-dotnet": ("FROM ubuntu:24.04\nRUN apt-get install -y dotnet-sdk-8.0\n", None),
    "fedora-libxml2": ("FROM fedora:40\nRUN dnf install -y libxml2\n", 1),  # Debian fact only
    "debian-curl": ("FROM debian:12\nRUN apt-get install -y curl\n", 1),
    "devcontainer-script": (
        "FROM debian:bullseye-slim\nCOPY library-scripts/*.sh /tmp/library-scripts/\n"
        "RUN bash /tmp/library-scripts/common-debian.sh true vscode\n", None),
    "nginx": ("FROM nginx:1.27\n", None),
    "node-alpine": ("FROM node:20-alpine\n", None),  # musl: OCT103's finding, not this one
    "distroless": ("FROM gcr.io/distroless/cc-debian12\n", None),  # no shell: OCT109's
    "devcontainer": ("FROM mcr.microsoft.com/vscode/devcontainers/base:bullseye\n", None),
    "deb-file": ("FROM debian:10\nRUN wget http://x/libicu63_63.2-3_amd64.deb"
                 " && dpkg -i libicu63_63.2-3_amd64.deb\n", None),
    "apt-local-file": ("FROM ubuntu:22.04\n"
                       "RUN apt-get install -y ./powershell_7.4.1-1.deb_amd64.deb\n",
                       None),
    "arg-packages": ("FROM ubuntu:22.04\nARG PACKAGES=\"curl libicu70\"\n"
                     "RUN apt-get install -y $PACKAGES\n", None),
    "arg-packages-no-icu": ("FROM ubuntu:22.04\nARG PACKAGES=curl\n"
                            "RUN apt-get install -y ${PACKAGES}\n", 1),
    "other-deb-file": ("FROM ubuntu:22.04\nRUN dpkg -i ./curl_8.5.0-2_amd64.deb\n", 1),
}  # fmt: skip


def test_oct107_icu_from_bases_and_dependencies(tmp_path: Path) -> None:
    found = check_cases(tmp_path, "OCT107", ICU_CASES)
    message = found["debian-curl"][0][2]
    assert "no package known to provide ICU was seen" in message
    assert "nothing installs" not in message


def test_oct107_hint_names_the_release_package_of_a_slim_tag(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text("FROM node:20-bookworm-slim\n", encoding="utf-8")
    result = run_cli([str(path)])
    assert "apt-get install -y --no-install-recommends libicu72" in result.stdout


# -- OCT106: ~/.zshrc is a start-up file ---------------------------------------------------
def test_oct106_zshrc_is_a_startup_file(tmp_path: Path) -> None:
    cases = {
        "zshrc": ("FROM ubuntu\nRUN echo 'export PATH=$HOME/.cargo/bin:$PATH' >> ~/.zshrc\n", 2),
        "zshrc-covered": (
            "FROM ubuntu\nENV PATH=/opt/x/bin:$PATH\n"
            "RUN echo 'export PATH=/opt/x/bin:$PATH' >> /root/.zshrc\n", None),
    }  # fmt: skip
    check_cases(tmp_path, "OCT106", cases)


# -- the table itself ---------------------------------------------------------------------
def test_every_row_names_its_source() -> None:
    assert len(KNOWN) > 30
    for row in KNOWN:
        assert row.names and row.source.strip(), row
        assert "http" in row.source or "official-images" in row.source, row


@pytest.mark.parametrize(
    ("name", "tag", "libc", "icu"),
    [
        ("node", "20-alpine", "musl", False),
        ("node", "20-bookworm", "glibc", True),
        ("python", "3.12-slim", "glibc", False),
        ("python", "3.12-slim-bookworm", "glibc", False),
        ("python", None, "glibc", True),  # latest
        ("hashicorp/terraform", "1.9", "musl", False),
        ("mcr.microsoft.com/dotnet/runtime", "7.0-alpine-${PLATFORM}", "musl", True),
        ("ghcr.io/acme/tool", "1", None, None),  # unknown: nothing known
    ],
)
def test_tag_dependent_facts(name: str, tag: str | None, libc: str | None, icu: bool) -> None:
    known = facts(name, tag)
    assert (known.libc, known.icu) == (libc, icu)


def test_rust_and_devcontainer_images_carry_their_env() -> None:
    assert "/usr/local/cargo/bin" in facts("rust", "1").env["PATH"].split(":")
    devcontainer = facts("mcr.microsoft.com/devcontainers/java", "21")
    assert devcontainer.env["NVM_DIR"] == "/usr/local/share/nvm"
    assert f"{devcontainer.env['NVM_DIR']}/current/bin" in devcontainer.env["PATH"].split(":")
