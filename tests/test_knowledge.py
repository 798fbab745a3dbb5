"""octolint.knowledge: each domain fact once, and the one secret policy both kinds use."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO
from hypothesis import given, settings
from hypothesis import strategies as st

from octolint.deploy.compose import redact_unparsed
from octolint.deploy.load import load_deploy
from octolint.knowledge import secrets
from octolint.redact import secret_values

# -- each fact once -----------------------------------------------------------------------

# Literals that spell a fact octolint.knowledge holds: a versioned soname, the .NET
# invariant-globalization variable, a Windows build number, a version manager's
# directory layout or start-up files, a secret-name fragment.
FACT_TEXT = re.compile(
    r"lib(?:ssl|icuuc|stdc\+\+|gcc_s|z|gssapi_krb5)\.so\.\d"
    r"|DOTNET_SYSTEM_GLOBALIZATION_INVARIANT|versions/node|/shims|candidates/"
    r"|miniconda|bash_profile|PASSWORD\||pass\(word|API_\?KEY"
)
FACT_NUMBERS = {14393, 16299, 17134, 17763}  # Windows builds


def _code_literals(path: Path) -> list[tuple[int, object]]:
    """The constants of a module's code, docstrings left out (they explain, not decide)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }  # fmt: skip
    constants = [node for node in ast.walk(tree)
                 if isinstance(node, ast.Constant) and id(node) not in docstrings]  # fmt: skip
    return [(node.lineno, node.value) for node in sorted(constants, key=lambda n: n.lineno)]


def _copies(path: Path, root: Path = REPO) -> list[str]:
    found = []
    for line, value in _code_literals(path):
        number = isinstance(value, int) and not isinstance(value, bool) and value in FACT_NUMBERS
        if number or (isinstance(value, str) and FACT_TEXT.search(value)):
            found.append(f"{path.relative_to(root)}:{line}: {value!r}")
    return found


def test_domain_facts_are_written_only_in_octolint_knowledge() -> None:
    knowledge = REPO / "octolint" / "knowledge"
    modules = [p for folder in ("octolint", "rules") for p in (REPO / folder).rglob("*.py")
               if knowledge not in p.parents]  # fmt: skip
    assert len(modules) > 50
    copies = [copy for module in modules for copy in _copies(module)]
    assert copies == [], "\n".join(copies)


def test_the_fact_scan_sees_a_copy(tmp_path: Path) -> None:
    """The scan above can fail: a rule that keeps its own OpenSSL list is caught."""
    rule = tmp_path / "oct999_copy.py"
    source = '"""Doc: libssl.so.3 here is fine."""\nSONAMES = ("libssl.so.3",)\nBUILD = 17763\n'
    rule.write_text(source, encoding="utf-8")
    assert _copies(rule, tmp_path) == ["oct999_copy.py:2: 'libssl.so.3'",
                                       "oct999_copy.py:3: 17763"]  # fmt: skip


# -- one secret policy ------------------------------------------------------------------

# Each kind of target used to have its own list: these names were secret for one only.
ONCE_IMAGE_ONLY = ("SMTP_PASS", "GITHUB_AUTH", "SIGNING_KEY", "SENTRY_DSN", "DB_PWD")
ONCE_DEPLOY_ONLY = ("OCTOPUS_SERVER_BASE64_LICENSE", "MASTER_KEY_FILE")
VALUE = "Zq8vLm2pXw9r"  # no credential shape: only the name can make it secret


def _compose_lines(tmp_path: Path, name: str) -> list[str]:
    """The lines of a Compose file setting ``name`` as deploy reports would print them."""
    parsed = tmp_path / "compose.yaml"
    parsed.write_text(
        "services:\n  octopus:\n    image: octopusdeploy/octopusdeploy:2024.1\n"
        f"    environment:\n      {name}: {VALUE}\n      ACCEPT_EULA: 'Y'\n",
        encoding="utf-8",
    )
    target = load_deploy([str(parsed)])
    return [line for file in target.files for line in file.lines]


@pytest.mark.parametrize("name", [*ONCE_IMAGE_ONLY, *ONCE_DEPLOY_ONLY])
def test_a_secret_name_is_secret_in_images_and_deployments(tmp_path: Path, name: str) -> None:
    assert secret_values({name: VALUE}) == [VALUE]  # masked in image findings
    lines = _compose_lines(tmp_path, name)  # what deploy reports print
    assert any(name in line for line in lines)
    assert not any(VALUE in line for line in lines)
    unparsed, removed = redact_unparsed([f"  {name}: {VALUE}", "  bad: [unclosed"])
    assert VALUE not in "\n".join(unparsed)
    assert removed == [VALUE]


@pytest.mark.parametrize("name", ["PWD", "OLDPWD", "PATH", "ACCEPT_EULA", "TASK_CAP"])
def test_shell_and_plain_names_are_not_secret_anywhere(tmp_path: Path, name: str) -> None:
    assert secret_values({name: VALUE}) == []
    assert any(VALUE in line for line in _compose_lines(tmp_path, name))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="aAkKeEyYpPsSwWdD_-.", max_size=16))
def test_the_quick_line_search_never_skips_a_secret_name(name: str) -> None:
    """Deploy files skip lines MAYBE_SECRET_NAME does not match: it must match every
    name secret_name accepts, wherever the name sits on the line."""
    if secrets.secret_name(name):
        assert secrets.MAYBE_SECRET_NAME.search(f"  - {name}=x # note")


# -- value shapes: same answers, in linear time -----------------------------------------

# The URL-with-password shape as it was written before it was made linear: the oracle.
OLD_URL = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@")
NEW_URL = re.compile(secrets.SECRET_VALUE.pattern.rsplit("|", 1)[1])


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="ab1+.-:/@ A", max_size=24))
def test_the_url_shape_matches_what_it_always_matched(value: str) -> None:
    assert bool(NEW_URL.search(value)) == bool(OLD_URL.search(value))


@pytest.mark.parametrize(
    ("value", "secret"),
    [("https://deploy:hunter22@registry.example", True), ("1http://u:p@h", True),
     ("9://u:p@h", False), ("HTTP://u:p@h", False), ("https://registry.example/u:p@", False)],
)  # fmt: skip
def test_url_with_a_password_is_a_secret_value(value: str, secret: bool) -> None:
    assert secrets.secret_value(value) is secret


def test_a_megabyte_env_value_is_checked_in_linear_time() -> None:
    """A hostile image's Env: a 1 MB run of scheme characters (each one a place a URL
    could start) took hours when every letter re-scanned the run; now it is one pass.
    60 s is far above the milliseconds it takes."""
    code = (
        "from octolint.redact import secret_values\n"
        "print(secret_values({'X': 'a' * 1_000_000 + '://', 'Y': 'a1' * 500_000}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, cwd=REPO)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
