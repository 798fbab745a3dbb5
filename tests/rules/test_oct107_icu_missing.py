"""OCT107 icu-missing: a base known to lack ICU, no ICU installed; at the FROM."""

import pytest
from rulecheck import dockerfile, where

SLIM = "FROM debian:bookworm-slim\n"


def test_slim_debian_without_icu() -> None:
    text = SLIM + "RUN apt-get update && apt-get install -y --no-install-recommends curl\n"
    assert where(dockerfile(text, "OCT107")) == [("OCT107", 1, 1, 1)]


@pytest.mark.parametrize("text", [
    SLIM + "RUN apt-get update && apt-get install -y libicu72 curl\n",
    SLIM + "ENV DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=1\n",
    SLIM + "ENV DOTNET_SYSTEM_GLOBALIZATION_INVARIANT=true\n",
    "FROM debian AS base\nRUN apt-get install -y powershell\nFROM base\n",  # pulls ICU in
    "FROM mcr.microsoft.com/dotnet/runtime-deps:8.0\n",  # carries the .NET dependencies
    "FROM example.com/whatever:1\n",  # unknown to octolint
])  # fmt: skip
def test_passes(text: str) -> None:
    assert dockerfile(text, "OCT107") == []


def test_options_extend_the_bases_and_packages() -> None:
    text = "FROM example.com/bare:1\nRUN apt-get install -y my-icu\n"
    assert where(dockerfile(text, "OCT107", {"bases-without-icu": ["example.com/bare*"]})) == [
        ("OCT107", 1, 1, 1)
    ]
    options = {"bases-without-icu": ["example.com/bare*"], "icu-packages": ["my-icu"]}
    assert dockerfile(text, "OCT107", options) == []
