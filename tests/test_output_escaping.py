"""Text from inputs cannot drive a terminal nor forge a GitHub Actions workflow command.

A Dockerfile's path, an image reference, a RepoTag, a tar member name and a
registry's error message are planted with escape sequences, BEL, a bidi override,
CR/LF and ``::error::``/``::add-mask::`` lines; the real CLI runs in every format,
and stdout, stderr and the report files are searched for any of it unescaped.
"""

from __future__ import annotations

import http.server
import json
import os
import re
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from conftest import run_cli
from imagebuild import build_image, docker_archive_files, tar_layer, write_docker_archive, write_tar

# An OSC window title ended by BEL, clear-screen, a CSI in its C1 form, a bidi
# override, and workflow commands on lines of their own (after LF and after CR).
HOSTILE = (
    "\x1b]0;pwned\x07\x1b[2J\x9b31m\u202e"
    "\n::error::forged\r::add-mask::hidden\n  ::stop-commands::x"
)
RAW = ("\x1b", "\x07", "\x9b", "\u202e", "\r")
COMMAND = re.compile(r"::(error|warning|notice) title=")
BAD_DOCKERFILE = f'FROM ubuntu:22.04\n# octolint ignore=X{HOSTILE[:20]}\nENTRYPOINT ["/x"]\n'
FORMATS = {"json": "r.json", "sarif": "r.sarif", "gitlab": "r.gitlab", "junit": "r.xml",
           "github": "r.github"}  # fmt: skip


def assert_safe(text: str, *, github: bool = False) -> None:
    """No raw control character, and no line the Actions runner would read as a command
    (it splits lines at CR and LF and trims leading white space), except our own."""
    for char in RAW:
        assert char not in text, f"{char!r} in {text[:300]!r}"
    for line in re.split(r"[\r\n]", text):
        stripped = line.lstrip()
        if github and stripped:
            assert COMMAND.match(stripped), line
        else:
            assert not stripped.startswith("::"), line


def strings(data: Any) -> Iterator[str]:
    if isinstance(data, str):
        yield data
    elif isinstance(data, dict):
        for value in data.values():
            yield from strings(value)
    elif isinstance(data, list):
        for item in data:
            yield from strings(item)


def assert_reports_safe(directory: Path) -> None:
    """Every report file: as text, and every string it carries once parsed."""
    for fmt, name in FORMATS.items():
        text = (directory / name).read_text(encoding="utf-8")
        assert_safe(text, github=fmt == "github")
        if fmt == "junit":
            root = ET.fromstring(text.encode())
            for element in root.iter():
                for value in [element.text or "", *element.attrib.values()]:
                    assert not any(char in value for char in RAW), value
        elif fmt != "github":
            for value in strings(json.loads(text)):
                assert not any(char in value for char in RAW), value


def every_format(*args: str) -> list[str]:
    """The CLI arguments for every format: five to files, human to stdout."""
    pairs = [item for fmt, name in FORMATS.items() for item in ("-f", fmt, "-o", name)]
    return [*args, *pairs, "-f", "human"]


def test_hostile_dockerfile_path_and_pragma_in_every_format(tmp_path: Path) -> None:
    name = f"::add-mask::{HOSTILE}.Dockerfile"
    (tmp_path / name).write_text(BAD_DOCKERFILE, encoding="utf-8")
    result = run_cli(every_format("lint", "--fail-on", "warning", name), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert_safe(result.stdout)
    assert_safe(result.stderr)
    assert_reports_safe(tmp_path)
    # The input is still there to read, escaped: the path, and the pragma's text.
    assert "\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\u202e" in result.stdout
    assert "\\x3a:add-mask::" in result.stdout  # the human report's path cannot start "::"
    github = (tmp_path / "r.github").read_text(encoding="utf-8")
    # in the file property, ":" is %3A: no line of it can start a command
    assert "%0A%3A%3Aerror%3A%3Aforged\\r%3A%3Aadd-mask%3A%3Ahidden%0A" in github
    assert "unknown rule 'X\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m" in github


def test_github_to_stdout_and_junit_to_stdout(tmp_path: Path) -> None:
    name = f"{HOSTILE}.Dockerfile"
    (tmp_path / name).write_text(BAD_DOCKERFILE, encoding="utf-8")
    github = run_cli(["lint", "--fail-on", "warning", "-f", "github", name], cwd=tmp_path)
    assert github.returncode == 1 and github.stdout.count("\n") == 3, github.stdout
    assert_safe(github.stdout, github=True)
    junit = run_cli(["lint", "--fail-on", "warning", "-f", "junit", name], cwd=tmp_path)
    assert junit.returncode == 1
    assert_safe(junit.stdout)
    assert "&#58;:error::forged" in junit.stdout  # element text, read back as "::"


def test_errors_naming_hostile_inputs_are_one_escaped_line(tmp_path: Path) -> None:
    for args in (["lint", HOSTILE], ["deploy", HOSTILE], ["image", HOSTILE],
                 ["lint", "--build-arg", HOSTILE, "Dockerfile"]):  # fmt: skip
        result = run_cli(args, cwd=tmp_path, env={"OCTOLINT_CACHE_DIR": str(tmp_path / "c")})
        assert result.returncode in (2, 3), result.stderr
        assert result.stdout == ""
        assert_safe(result.stderr)
        assert "\\n::error::forged\\r::add-mask::hidden\\n" in result.stderr
        assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    # octolint's own errors are one line, always prefixed
    result = run_cli(["lint", HOSTILE], cwd=tmp_path)
    assert result.stderr.startswith("octolint: error: ") and result.stderr.count("\n") == 1


def hostile_archive(path: Path) -> Path:
    image = build_image([tar_layer({"bin/sh": b"#!sh\n"})], entrypoint=["/x"])
    return write_docker_archive(path, [(image, [f"evil{HOSTILE}:1"])])


def test_hostile_repo_tag_and_reference_in_every_format(tmp_path: Path) -> None:
    archive = hostile_archive(tmp_path / "image.tar")
    env = {"OCTOLINT_CACHE_DIR": str(tmp_path / "cache")}
    for reference in (str(archive), f"{archive}:evil{HOSTILE}:1"):
        result = run_cli(every_format("image", reference), cwd=tmp_path, env=env)
        assert result.returncode == 1, result.stderr
        assert_safe(result.stdout)
        assert_safe(result.stderr)
        assert_reports_safe(tmp_path)
    assert "evil\\x1b]0;pwned" in result.stdout  # the human report names the image


def test_hostile_member_name_in_an_error(tmp_path: Path) -> None:
    image = build_image([tar_layer({"bin/sh": b"#!sh\n"})])
    files, symlinks = docker_archive_files([(image, ["ok:1"])])
    manifest = json.loads(files["manifest.json"])
    manifest[0]["Layers"][0] = f"missing{HOSTILE}/layer.tar"
    files["manifest.json"] = json.dumps(manifest).encode()
    archive = write_tar(tmp_path / "image.tar", files, symlinks=symlinks)
    result = run_cli(["image", str(archive)], cwd=tmp_path,
                     env={"OCTOLINT_CACHE_DIR": str(tmp_path / "cache")})  # fmt: skip
    assert result.returncode == 3 and result.stdout == ""
    assert_safe(result.stderr)
    assert "missing\\x1b]0;pwned" in result.stderr and result.stderr.count("\n") == 1


class _HostileRegistry(http.server.BaseHTTPRequestHandler):
    """A registry whose every error carries HOSTILE in its JSON error message."""

    def do_GET(self) -> None:
        if self.path in ("/v2/", "/v2"):
            body, status = b"{}", 200
        else:
            error = {"code": "MANIFEST_UNKNOWN", "message": HOSTILE}
            body, status = json.dumps({"errors": [error]}).encode(), 404
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_HEAD = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def serve(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """A real HTTP server on 127.0.0.1 (loopback only); yields its host:port."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_hostile_registry_error_message(tmp_path: Path) -> None:
    env = {"OCTOLINT_CACHE_DIR": str(tmp_path / "cache"), "DOCKER_CONFIG": str(tmp_path),
           "NO_PROXY": "127.0.0.1"}  # fmt: skip
    with serve(_HostileRegistry) as host:
        result = run_cli(["image", "--source", "registry", "--timeout", "20",
                          f"{host}/team/app:1"], cwd=tmp_path, env=env)  # fmt: skip
    assert result.returncode == 3, result.stderr
    assert result.stderr.startswith("octolint: error: ") and result.stderr.count("\n") == 1
    assert_safe(result.stderr)
    assert "\\x1b]0;pwned\\x07" in result.stderr  # the registry's words, escaped


def test_progress_display_escapes_the_reference() -> None:
    """The layer progress (a terminal only) shows a reference as text: no markup, no
    escape sequence of its own; rich's cursor control is all that is left."""
    reference = f"[link=https://example.invalid]ref[/link]{HOSTILE}"
    script = (
        "import sys, time\nfrom octolint.progress import LayerProgress\n"
        "with LayerProgress() as progress:\n"
        "    progress.update(sys.argv[1], 2, 'read')\n    time.sleep(0.3)\n"
    )
    env = {**os.environ, "FORCE_COLOR": "1", "TERM": "xterm"}
    env.pop("NO_COLOR", None)
    proc = subprocess.run([sys.executable, "-c", script, reference], capture_output=True,
                          text=True, env=env, timeout=60)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "[link=https://example.invalid]ref[/link]\\x1b]0;pwned\\x07" in proc.stderr
    assert "\x1b]0;pwned" not in proc.stderr and "\x1b]8;" not in proc.stderr  # no hyperlink
    assert "\x07" not in proc.stderr and "\u202e" not in proc.stderr


def test_usage_errors_escape_arguments_but_not_octolints_help(tmp_path: Path) -> None:
    unknown = run_cli(["lint", f"--bogus{HOSTILE}"], cwd=tmp_path)
    assert unknown.returncode == 2
    assert_safe(unknown.stderr)
    assert "Error: No such option" in unknown.stderr and "\\x1b]0;pwned" in unknown.stderr
    # With no arguments click shows the help as its "error": ours, multi-line, as is.
    bare = run_cli([], cwd=tmp_path)
    assert "Usage: octolint" in bare.stdout + bare.stderr
    assert "\n  octolint rules " in bare.stdout + bare.stderr
    assert "\\n" not in bare.stdout + bare.stderr
