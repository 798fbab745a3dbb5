"""Keep secrets an image carries in its environment out of findings.

Image rules quote what they find (an Entrypoint, a PATH entry); an image's ``Env``
often holds credentials (``DB_PASSWORD=...``, ``AWS_SECRET_ACCESS_KEY=...``) that
can also appear in those quoted values. The engine passes every image finding
through :func:`redact`, so no rule, built in or plug-in, prints such a value in full.

What counts as a secret is the policy of :mod:`octolint.knowledge.secrets`, the
one deployment files are redacted by too: a variable whose name says so, or a
value with the shape of a well-known credential; values shorter than
``MIN_LENGTH`` are left alone.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping, Sequence

from octolint.knowledge.secrets import MIN_LENGTH, secret_name, secret_value

MASK = "***"


def secret_values(env: Mapping[str, str]) -> list[str]:
    """The values of ``env`` that look like secrets, longest first."""
    found = {
        value
        for name, value in env.items()
        if len(value) >= MIN_LENGTH and (secret_name(name) or secret_value(value))
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
