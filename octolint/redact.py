"""Keep secrets an image carries in its environment out of findings.

Image rules quote what they find (an Entrypoint, a PATH entry); an image's ``Env``
often holds credentials (``DB_PASSWORD=...``, ``AWS_SECRET_ACCESS_KEY=...``) that
can also appear in those quoted values. The engine passes every image finding
through :func:`redact`, so no rule, built in or plug-in, prints such a value in full.

A value is treated as secret when its variable's name says so (:data:`SECRET_NAME`)
or the value has the shape of a well-known credential (:data:`SECRET_VALUE`).
Values shorter than :data:`MIN_LENGTH` are left alone: masking "1" or "true"
everywhere would garble messages and protect nothing.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable, Mapping, Sequence

MASK = "***"
MIN_LENGTH = 6
SECRET_NAME = re.compile(
    r"(?i)(pass(word|wd|phrase)?|pwd$|secret|token|api_?key|access_?key|private_?key"
    r"|credential|auth|session_?key|signing_?key|client_?key|_key$|^key$|dsn$|conn(ection)?_?str)"
)
SECRET_VALUE = re.compile(
    r"(A3T[A-Z0-9]|AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA)[A-Z0-9]{16}"  # AWS access key ids
    r"|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}"  # GitHub
    r"|glpat-[A-Za-z0-9_-]{16,}|xox[abposr]-[A-Za-z0-9-]{10,}"  # GitLab, Slack
    r"|sk_live_[A-Za-z0-9]{16,}|API-[A-Z0-9]{20,}"  # Stripe, Octopus API keys
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
    r"|[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"  # URLs with a password: scheme://u:p@
)
_NOT_SECRET = frozenset({"PATH", "LD_LIBRARY_PATH", "PWD", "OLDPWD"})


def secret_values(env: Mapping[str, str]) -> list[str]:
    """The values of ``env`` that look like secrets, longest first."""
    found = {
        value
        for name, value in env.items()
        if len(value) >= MIN_LENGTH
        and name not in _NOT_SECRET
        and (SECRET_NAME.search(name) or SECRET_VALUE.search(value))
    }
    return sorted(found, key=len, reverse=True)


def redact(text: str | None, secrets: Iterable[str]) -> str | None:
    """``text`` with every secret value masked (its first two characters kept)."""
    if not text:
        return text
    for secret in secrets:
        text = text.replace(secret, secret[:2] + MASK)
    return text


def masked_command(argv: Sequence[str], env: Mapping[str, str]) -> str:
    """An Entrypoint or Cmd as a shell would be given it (``shlex.join``), each word
    masked before it is quoted.

    Masking the words, not the quoted text, is what keeps a secret hidden when
    quoting would change it: a backslash, a quote, a newline or a character a
    ``repr`` escapes no longer matches the value in the image's ``Env``.
    """
    secrets = secret_values(env)
    return shlex.join(redact(word, secrets) or word for word in argv)
