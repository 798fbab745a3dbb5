"""OCT109 no-shell: a final base image without a shell, at its FROM."""

import pytest
from rulecheck import dockerfile, where


@pytest.mark.parametrize("base", [
    "mcr.microsoft.com/dotnet/runtime-deps:8.0-jammy-chiseled",
    "scratch",
    "gcr.io/distroless/cc-debian12",
])  # fmt: skip
def test_no_shell(base: str) -> None:
    assert where(dockerfile(f"FROM {base}\nCOPY x /x\n", "OCT109")) == [("OCT109", 1, 1, 1)]


def test_non_chiseled_passes() -> None:
    assert dockerfile("FROM mcr.microsoft.com/dotnet/runtime-deps:8.0-jammy\n", "OCT109") == []


def test_silenced_by_a_pragma_on_the_from_line() -> None:
    assert dockerfile("# octolint ignore=OCT109\nFROM scratch\nCOPY rootfs /\n", "OCT109") == []
