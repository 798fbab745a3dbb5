"""Exceptions. Each carries the exit code the CLI uses when it reaches the user."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INPUT = 3


class OctolintError(Exception):
    """Base class: a problem octolint explains in one line instead of a traceback."""

    exit_code = EXIT_INPUT


class ConfigError(OctolintError):
    """A configuration file or command-line option is invalid (exit code 2)."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, *, source: str | None = None, key: str | None = None):
        where = source or "configuration"
        if key:
            where = f"{where}: key '{key}'"
        super().__init__(f"{where}: {message}")
        self.source = source
        self.key = key


class UnknownStageError(ConfigError):
    """``--target`` names a stage the Dockerfile does not have (exit code 2)."""

    def __init__(self, target: str, stages: str):
        super().__init__(f"no stage named '{target}' (stages: {stages})", key="--target")
        self.reason = f"--target: no stage named '{target}' (stages: {stages})"


class InputError(OctolintError):
    """An input could not be read or analysed (exit code 3)."""

    exit_code = EXIT_INPUT

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path


class DockerfileSyntaxError(Exception):
    """Raised by the parser; the engine turns it into an OCT100 finding."""

    def __init__(self, message: str, line: int, column: int = 1):
        super().__init__(f"line {line}: {message}")
        self.message = message
        self.line = line
        self.column = column
