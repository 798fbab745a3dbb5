"""OCT103 musl-base: the final base image is musl-based; reported at its FROM."""

from rulecheck import dockerfile, where


def test_alpine_tag() -> None:
    text = "FROM mcr.microsoft.com/dotnet/runtime-deps:8.0-alpine\nRUN apk add icu-libs\n"
    assert where(dockerfile(text, "OCT103")) == [("OCT103", 1, 1, 1)]


def test_base_image_from_an_arg_default() -> None:
    found = dockerfile("ARG BASE=alpine:3.20\nFROM $BASE\n", "OCT103")
    assert where(found) == [("OCT103", 2, 1, 2)]
    assert "alpine:3.20" in found[0].message


def test_followed_through_a_stage_alias_to_the_external_base() -> None:
    assert where(dockerfile("FROM alpine AS base\nFROM base\n", "OCT103")) == [("OCT103", 1, 1, 1)]


def test_only_the_final_stage_counts() -> None:
    assert dockerfile("FROM alpine AS build\nFROM debian\n", "OCT103") == []


def test_glibc_base_passes() -> None:
    assert (
        dockerfile("FROM mcr.microsoft.com/dotnet/runtime-deps:8.0-bookworm-slim\n", "OCT103") == []
    )


def test_unknown_base_says_nothing() -> None:
    assert dockerfile("FROM $UNKNOWN\n", "OCT103") == []


def test_musl_images_option() -> None:
    assert dockerfile("FROM myorg/tiny-1\n", "OCT103") == []
    found = dockerfile("FROM myorg/tiny-1\n", "OCT103", {"musl-images": ["myorg/tiny-*"]})
    assert where(found) == [("OCT103", 1, 1, 1)]
