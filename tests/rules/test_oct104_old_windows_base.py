"""OCT104 old-windows-base: Windows base images older than ltsc2019, at their FROM."""

import pytest
from rulecheck import dockerfile, where


@pytest.mark.parametrize("image", [
    "mcr.microsoft.com/windows/servercore:ltsc2016",
    "mcr.microsoft.com/dotnet/framework/runtime:4.8-windowsservercore-ltsc2016",
    "mcr.microsoft.com/windows/nanoserver:1709",
    "mcr.microsoft.com/windows/servercore:10.0.14393.6897",
])  # fmt: skip
def test_old_windows_base(image: str) -> None:
    assert where(dockerfile(f"ARG X=1\nFROM {image}\n", "OCT104")) == [("OCT104", 2, 1, 2)]


@pytest.mark.parametrize("image", [
    "mcr.microsoft.com/windows/servercore:ltsc2019",
    "mcr.microsoft.com/windows/servercore:ltsc2022",
    "node:1709",  # a release number on an image that is not Windows
])  # fmt: skip
def test_supported_or_not_windows_passes(image: str) -> None:
    assert dockerfile(f"FROM {image}\n", "OCT104") == []
