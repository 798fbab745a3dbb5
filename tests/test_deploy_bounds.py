"""Small deploy inputs of every hostile shape finish fast or are refused in one line.

The shapes of issue 11 point 8: a YAML alias "billion laughs", a .env whose
variables double, thousands of Compose templates in one value, unterminated or
deeply nested `${`, a 200,000-line .env, 40,000 pragma lines; and the ones found
while fixing those (extends chains, one env_file listed by thousands of services,
integer keys). Each runs through the CLI as users run it, with a bound ten times
or more above what it takes now (about a second).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import run_measured
from hypothesis import given, settings
from hypothesis import strategies as st

from octolint.deploy.dotenv import EnvEntry, parse_dotenv
from octolint.deploy.interpolate import (
    MAX_VALUE,
    ExpansionLimit,
    InterpolationError,
    expansion_budget,
    interpolate,
)
from octolint.deploy.load import load_deploy
from octolint.errors import EXIT_FINDINGS, EXIT_INPUT, EXIT_OK

BOUND = 60.0  # seconds; each case takes about one
MEMORY = 500 * 1024 * 1024


def run(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    started = time.monotonic()
    proc, rss = run_measured(
        [sys.executable, "-m", "octolint", "deploy", *args, "--format", "json"],
        cwd=directory, timeout=BOUND * 3,
    )  # fmt: skip
    elapsed = time.monotonic() - started
    assert elapsed < BOUND, f"{args}: {elapsed:.1f}s"
    assert "Traceback" not in proc.stderr and "internal error" not in proc.stderr, proc.stderr
    for name in ("MemoryError", "RecursionError"):
        assert name not in proc.stderr + proc.stdout
    assert rss < MEMORY, f"{args}: peak RSS {rss // 2**20} MiB"
    return proc


def refused(proc: subprocess.CompletedProcess[str], path: str, words: str) -> None:
    """Exit 3 and one line naming the file, the line and what is wrong."""
    assert proc.returncode == EXIT_INPUT, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert f"{path}: line " in lines[0] and words in lines[0], lines[0]


def findings(proc: subprocess.CompletedProcess[str]) -> list[dict[str, object]]:
    assert proc.returncode in (EXIT_OK, EXIT_FINDINGS), proc.stderr
    found: list[dict[str, object]] = json.loads(proc.stdout)["findings"]
    return found


def compose(directory: Path, text: str, name: str = "compose.yaml") -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


# -- YAML aliases ---------------------------------------------------------------------
def billion_laughs(levels: int) -> str:
    lines = ['x-a0: &a0 ["${X}","${X}","${X}","${X}","${X}","${X}","${X}","${X}","${X}"]']
    for level in range(1, levels + 1):
        alias = f"*a{level - 1}"
        lines.append(f"x-a{level}: &a{level} [{', '.join([alias] * 9)}]")
    return "\n".join(lines) + "\nservices:\n  s:\n    image: x\n"


def test_alias_billion_laughs_is_refused_at_once(tmp_path: Path) -> None:
    text = billion_laughs(8)  # 9**8 = 43 million strings once expanded
    assert len(text.encode()) < 650
    compose(tmp_path, text)
    refused(run(tmp_path, "compose.yaml"), "compose.yaml", "aliases expand the YAML")


def test_alias_bomb_of_kubernetes_lists_is_refused(tmp_path: Path) -> None:
    # a List whose items are Lists: unwrapping them would build 9**8 Pods
    lines = ["apiVersion: v1", "kind: List", "x0: &l0 {kind: Pod, apiVersion: v1}"]
    for level in range(1, 8):
        items = ", ".join([f"*l{level - 1}"] * 9)
        lines.append(f"x{level}: &l{level} {{kind: List, apiVersion: v1, items: [{items}]}}")
    lines.append(f"items: [{', '.join(['*l7'] * 9)}]")
    (tmp_path / "k.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    refused(run(tmp_path, "k.yaml"), "k.yaml", "aliases expand the YAML")


def test_aliases_as_real_files_use_them_are_fine(tmp_path: Path) -> None:
    services = "".join(f"  s{i}:\n    <<: *default\n    image: x{i}\n" for i in range(200))
    compose(tmp_path, "x-default: &default\n  restart: always\n  environment: &env\n"
                      + "".join(f"    V{i}: value {i}\n" for i in range(100))
                      + "  labels: [a, b, c]\nservices:\n" + services)  # fmt: skip
    assert findings(run(tmp_path, "compose.yaml")) == []


# -- .env -----------------------------------------------------------------------------
def test_dotenv_whose_variables_double_is_refused_naming_the_line(tmp_path: Path) -> None:
    lines = ["V0=xxxxxxxxxxxxxxxx"] + [f"V{i}=${{V{i - 1}}}${{V{i - 1}}}" for i in range(1, 80)]
    (tmp_path / ".env").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert len((tmp_path / ".env").read_bytes()) < 1700
    compose(tmp_path, "services:\n  s:\n    image: ${V3}\n")
    refused(run(tmp_path, "compose.yaml"), ".env", "once interpolated")


def test_dotenv_of_200000_lines_is_read(tmp_path: Path) -> None:
    text = "".join(f"VAR_{i}=value {i} # comment\n" for i in range(200_000))
    (tmp_path / ".env").write_text(text + "IMAGE=octopusdeploy/octopusdeploy\n",
                                   encoding="utf-8")  # fmt: skip
    compose(tmp_path, "services:\n  s:\n    image: ${IMAGE}\n")
    rules = {f["rule_id"] for f in findings(run(tmp_path, "compose.yaml"))}
    assert "OCT304" in rules  # the last line was read: the image is known, and unpinned
    entries = parse_dotenv(text)
    assert len(entries) == 200_000 and entries["VAR_123456"] == EnvEntry("value 123456", 123_457)


def test_dotenv_keys_with_long_blank_runs_are_linear() -> None:
    text = "".join(f"K{i}{' ' * 2000}= v\n" for i in range(500))  # 1 MB of blanks in keys
    started = time.monotonic()
    assert parse_dotenv(text)["K499"].line == 500
    assert time.monotonic() - started < BOUND


# -- interpolation --------------------------------------------------------------------
def test_thousands_of_templates_in_one_value(tmp_path: Path) -> None:
    assert interpolate("${a-x}" * 3000, {}).text == "x" * 3000
    compose(tmp_path, 'services:\n  s:\n    image: "' + "${a-x}" * 3000 + '"\n')
    findings(run(tmp_path, "compose.yaml"))


def test_deeply_nested_templates_are_resolved() -> None:
    depth = 40_000
    assert interpolate("${a-" * depth + "x" + "}" * depth, {}).text == "x"
    assert interpolate("${a:-" * depth + "${B}" + "}" * depth, {"B": "b"}).text == "b"


def test_unterminated_templates_are_oct300_at_once(tmp_path: Path) -> None:
    compose(tmp_path, 'services:\n  s:\n    image: "' + "${a-" * 40_000 + '"\n')
    found = findings(run(tmp_path, "compose.yaml"))
    assert [f["rule_id"] for f in found] == ["OCT300"]
    assert found[0]["line"] == 3


def test_nested_expansion_of_a_large_value_stops_at_the_budget(tmp_path: Path) -> None:
    # each level copies what the inner one produced: bounded by the total budget
    (tmp_path / ".env").write_text("BIG=" + "x" * 500_000 + "\n", encoding="utf-8")
    compose(tmp_path, 'services:\n  s:\n    image: "' + "${a-" * 40_000 + "${BIG}"
                      + "}" * 40_000 + '"\n')  # fmt: skip
    refused(run(tmp_path, "compose.yaml"), "compose.yaml", "in all (octolint's limit)")


TEMPLATE = st.lists(
    st.sampled_from(["$", "{", "}", "${", "$$", "${A", "${U", "${BIG", "-", ":-", "?", ":?",
                     "+", ":+", "}}", "x", " ", "\n", "A", "é"]),
    max_size=40,
).map("".join)  # fmt: skip


@settings(max_examples=500, deadline=None)
@given(template=TEMPLATE, repeat=st.integers(1, 50))
def test_interpolation_raises_only_the_documented_errors(template: str, repeat: int) -> None:
    variables = {"A": "alpha", "E": "", "BIG": "y" * (MAX_VALUE // 8)}
    try:
        with expansion_budget():
            result = interpolate(template * repeat, variables)
    except (InterpolationError, ExpansionLimit) as error:
        assert "\n" not in str(error)
        return
    assert len(result.text) <= MAX_VALUE


# -- services multiplying variables ---------------------------------------------------
def test_extends_chain_of_thousands_of_services(tmp_path: Path) -> None:
    lines = ["services:", "  s0:", "    image: octopusdeploy/octopusdeploy"]
    for i in range(1, 3000):
        lines += [f"  s{i}:", f"    extends: s{i - 1}"]
    compose(tmp_path, "\n".join(lines) + "\n")
    found = findings(run(tmp_path, "compose.yaml"))
    assert [f["line"] for f in found if f["rule_id"] == "OCT304"] == [3]  # reported once
    containers = load_deploy([str(tmp_path / "compose.yaml")]).containers
    assert len(containers) == 3000
    assert {c.image.text for c in containers if c.image} == {"octopusdeploy/octopusdeploy"}


def test_one_env_file_listed_by_thousands_of_services_is_refused(tmp_path: Path) -> None:
    (tmp_path / "vars.env").write_text("".join(f"V{i}=v\n" for i in range(50_000)),
                                       encoding="utf-8")  # fmt: skip
    compose(tmp_path, "services:\n" + "".join(f"  s{i}:\n    image: x\n    env_file: vars.env\n"
                                              for i in range(2000)))  # fmt: skip
    refused(run(tmp_path, "compose.yaml"), "compose.yaml", "variables in all")


def test_integer_service_name_is_what_compose_refuses(tmp_path: Path) -> None:
    compose(tmp_path, "services:\n  1:\n    image: x\n  s:\n    extends: 1\n")
    found = findings(run(tmp_path, "compose.yaml"))
    assert [(f["rule_id"], f["line"]) for f in found] == [("OCT300", 2)]
    assert "non-string key: 1" in str(found[0]["message"])


# -- pragmas --------------------------------------------------------------------------
@pytest.mark.parametrize("pragmas", [0, 40_000])
def test_40000_pragma_lines_are_read_once(tmp_path: Path, pragmas: int) -> None:
    block = "    # octolint ignore=OCT304\n" * pragmas
    compose(tmp_path, f"services:\n  s:\n{block}    image: octopusdeploy/octopusdeploy\n")
    rules = {f["rule_id"] for f in findings(run(tmp_path, "compose.yaml"))}
    assert ("OCT304" in rules) == (pragmas == 0)  # the pragmas still apply


def _secret_and_pods(keys: int, containers: int) -> str:
    data = "".join(f"  K{n}: v\n" for n in range(keys))
    pods = "".join(f"    - name: c{n}\n      image: busybox\n      envFrom:\n"
                   "        - secretRef: {name: many}\n" for n in range(containers))  # fmt: skip
    return (f"apiVersion: v1\nkind: Secret\nmetadata: {{name: many}}\nstringData:\n{data}---\n"
            f"apiVersion: v1\nkind: Pod\nmetadata: {{name: p}}\nspec:\n  containers:\n{pods}")


def test_envfrom_multiplying_a_secret_is_bounded(tmp_path: Path) -> None:
    """One Secret of 1,000 keys named by 300 containers' envFrom (40 KB): 300,000
    variables, past the 250,000 bound: refused in one line, not hours of work."""
    (tmp_path / "many.yaml").write_text(_secret_and_pods(1000, 300))
    refused(run(tmp_path, "many.yaml"), "many.yaml", "envFrom gives the containers more")
    (tmp_path / "fewer.yaml").write_text(_secret_and_pods(1000, 200))
    assert findings(run(tmp_path, "fewer.yaml")) == []
