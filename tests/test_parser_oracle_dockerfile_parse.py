"""dockerfile-parse as a second, independent oracle on real Dockerfiles.

BuildKit's own parser is the reference (tests/test_parser_parity.py). dockerfile-parse
(containerbuildsystem's pure-Python parser, used by OSBS) was written independently of
BuildKit and of octolint, so agreeing with it on real files is a check that does not
share their assumptions; it also resolves FROM lines with ARGs, which BuildKit's parser
alone does not. It knows no heredocs: files with one are left out.

For every heredoc-free UTF-8 file of the shared corpus (and the sample fixtures), the
instructions must agree on name, first and last line and value, and every stage's base
image must agree, without build args and with a value for every global ARG. What the
two legitimately do differently is normalised, each for a stated reason:

1. dockerfile-parse lists comments as ``COMMENT`` entries; BuildKit drops them (also
   inside continuations). They are left out of its list.
2. Its lines count from 0, ours from 1.
3. Its value is the logical line after the keyword and its blanks, trailing whitespace
   stripped; ours (``Instruction.original``) keeps the trailing whitespace, which is
   stripped here. Nothing else in the value is normalised: both join continuations the
   same way (the backslash and newline removed, indentation kept).
4. A UTF-8 byte order mark: BuildKit skips it; dockerfile-parse keeps it as part of the
   first keyword and then sees no FROM at all. It is given the text without the mark.
5. A FROM whose variable has no value (an ARG without a default): we say the base is
   unknown (None, so the base-image rules stay silent: docs/decisions.md, "Unknown
   means silent"); dockerfile-parse expands the variable to the empty string. Accepted
   exactly there: its answer must be the FROM text with those variables, and only
   those, left empty. BuildKit's platform ARGs (TARGETARCH...) have values for us
   (linux/amd64) but none for dockerfile-parse: we are compared with them empty.
6. A file BuildKit refuses (an instruction other than ARG before the first FROM) has no
   stages to compare: ``analyse`` raises; its instructions are still compared.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from pathlib import Path

import pytest
from conftest import FIXTURES, corpus_dir
from dockerfile_parse import DockerfileParser

from octolint.dockerfile.parser import Dockerfile, parse
from octolint.dockerfile.stages import PLATFORM_ARGS, analyse
from octolint.errors import DockerfileSyntaxError

BOM = "\ufeff"
# $NAME and ${NAME}: the only forms the corpus's FROM lines use (a new form in the
# corpus fails test_bases_agree_except_where_ours_are_unknown, on purpose).
FROM_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


def text_of(path: Path) -> str | None:
    """The file as text; None when it is not UTF-8 (e.g. UTF-16: not text to either)."""
    try:
        return path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return None


def has_heredoc(dockerfile: Dockerfile) -> bool:
    return any(i.heredocs or (i.sub and i.sub.heredocs) for i in dockerfile.instructions)


def candidates() -> list[Path]:
    corpus = corpus_dir()
    files = sorted(p for p in corpus.iterdir() if p.is_file()) if corpus else []
    return [*files, FIXTURES / "sample" / "Dockerfile", FIXTURES / "sample" / "fixed.Dockerfile"]


def comparable(path: Path) -> bool:
    text = text_of(path)
    return text is not None and not has_heredoc(parse(text))


FILES = [p for p in candidates() if comparable(p)]


def oracle(text: str, build_args: Mapping[str, str] | None = None) -> DockerfileParser:
    # Normalisation 4: the oracle gets no byte order mark.
    data = text.removeprefix(BOM).encode("utf-8")
    return DockerfileParser(fileobj=io.BytesIO(data), env_replace=build_args is not None,
                            build_args=dict(build_args or {}))  # fmt: skip


def their_instructions(text: str) -> list[tuple[str, int, int, str]]:
    return [
        (item["instruction"], item["startline"] + 1, item["endline"] + 1, item["value"].rstrip())
        for item in oracle(text).structure
        if item["instruction"] != "COMMENT"
    ]  # normalisations 1, 2, 3


def our_instructions(text: str) -> list[tuple[str, int, int, str]]:
    rows = []
    for item in parse(text).instructions:
        after_keyword = item.original.lstrip()[len(item.keyword) :]
        rows.append((item.name, item.start_line, item.end_line, after_keyword.strip()))
    return rows


def global_arg_values(dockerfile: Dockerfile) -> dict[str, str]:
    """A value for every ARG declared before the first FROM, as --build-arg would give."""
    values = {}
    for item in dockerfile.instructions:
        if item.name == "FROM":
            break
        if item.name == "ARG":
            for word in item.value:
                name = word.split("=", 1)[0]
                values[name] = f"given-{name.lower()}"
    return values


def bases(text: str, build_args: Mapping[str, str]) -> tuple[list[str | None], list[str]]:
    """(our base per stage, dockerfile-parse's)."""
    build = analyse(parse(text), build_args=build_args)
    return [s.base for s in build.stages], oracle(text, build_args).parent_images


def test_most_of_the_corpus_is_compared() -> None:
    # What is left out must stay the known few: the heredoc files and one UTF-16 file.
    left_out = [p.name for p in candidates() if not comparable(p)]
    assert len(left_out) <= 5, left_out
    assert len(FILES) >= 2


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_instructions_agree(path: Path) -> None:
    text = text_of(path)
    assert text is not None
    assert our_instructions(text) == their_instructions(text)


def resolvable(path: Path) -> bool:
    """Normalisation 6: whether BuildKit would build the file at all."""
    text = text_of(path)
    try:
        analyse(parse(text or ""))
    except DockerfileSyntaxError:
        return False
    return True


BUILDABLE = [p for p in FILES if resolvable(p)]


NO_PLATFORM = dict.fromkeys(PLATFORM_ARGS, "")  # normalisation 5


def emptied(written: str, known: Mapping[str, str]) -> str:
    """Normalisation 5: the FROM text with every variable without a value left empty."""
    return FROM_VARIABLE.sub(lambda m: known.get(m.group(1) or m.group(2), ""), written)


@pytest.mark.parametrize("given", [False, True], ids=["no-build-args", "every-global-arg"])
@pytest.mark.parametrize("path", BUILDABLE, ids=[p.name for p in BUILDABLE])
def test_bases_agree_except_where_ours_are_unknown(path: Path, given: bool) -> None:
    text = text_of(path)
    assert text is not None
    dockerfile = parse(text)
    build_args = global_arg_values(dockerfile) if given else {}
    build = analyse(dockerfile, build_args={**NO_PLATFORM, **build_args})
    theirs = oracle(text, build_args).parent_images
    assert len(build.stages) == len(theirs)
    known = {k: v for k, v in build.global_args.items() if v is not None}
    for stage, their in zip(build.stages, theirs):
        where = f"line {stage.from_instruction.start_line}"
        if stage.base is not None:
            assert stage.base == their, where
            continue
        variables = {a or b for a, b in FROM_VARIABLE.findall(stage.base_written)}
        assert variables - set(known), f"{where}: unknown, though every variable has a value"
        assert their == emptied(stage.base_written, known), where


def test_the_oracle_can_disagree() -> None:
    # The comparison is not vacuous: a wrong line, value or base is seen.
    text = "ARG V=1\nFROM alpine:$V AS a\nRUN echo \\\n  hi\n"
    assert our_instructions(text) == their_instructions(text)
    assert our_instructions(text) != their_instructions(text.replace("RUN echo", "RUN  echo x"))
    assert bases(text, {"V": "2"}) == (["alpine:2"], ["alpine:2"])
    assert bases(text, {}) == (["alpine:1"], ["alpine:1"])
