"""What a secret looks like: one policy for everything octolint prints.

Used by :mod:`octolint.redact` (values of an image's ``Env``, masked wherever an
image finding quotes them) and :mod:`octolint.deploy` (values of Compose,
Kubernetes and ``.env`` settings, replaced in the lines a report shows).

A setting is secret when its *name* says so (:func:`secret_name`), or, for an
image's ``Env`` whose values octolint reads, when its *value* has the shape of a
well-known credential (:func:`secret_value`). Values shorter than
:data:`MIN_LENGTH` are never masked inside other text: masking "1" or "true"
everywhere would garble messages and protect nothing.

Sources: the names Octopus Server's container reads its secrets from
(``ADMIN_PASSWORD``, ``ADMIN_API_KEY``, ``MASTER_KEY``, ``DB_CONNECTION_STRING``,
``OCTOPUS_SERVER_BASE64_LICENSE``:
https://octopus.com/docs/installation/octopus-server-linux-container; the Windows
image's ``masterKey``: https://github.com/OctopusDeploy/Octopus-Docker) and the
usual ones for credentials; the value shapes are the documented formats of each
issuer's keys: AWS access key IDs
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-unique-ids),
GitHub (https://github.blog/2021-04-05-behind-githubs-new-authentication-token-formats/),
GitLab (https://docs.gitlab.com/ee/security/tokens/), Slack, Stripe live keys,
Octopus API keys (``API-``), PEM private keys (RFC 7468) and URLs with a password
(RFC 3986 userinfo).
"""

from __future__ import annotations

import re

MIN_LENGTH = 6

# Name fragments, matched case-insensitively anywhere in a name, at its end, or as
# the whole name.
_ANYWHERE = (
    "pass(word|wd|phrase)?", "secret", "token", "api_?key", "access_?key", "private_?key",
    "credential", "auth", "session_?key", "signing_?key", "client_?key", "master_?key",
    "license", "conn(ection)?_?str",
)  # fmt: skip
_AT_END = ("pwd", "_key", "dsn")
_WHOLE = ("key",)
SECRET_NAME = re.compile(
    "(?i)" + "|".join(_ANYWHERE)
    + "|(?:" + "|".join(_AT_END) + ")$"
    + "|^(?:" + "|".join(_WHOLE) + ")$"
)  # fmt: skip
# Every fragment unanchored: a text it does not match names no secret anywhere (one
# quick search before a line is split into settings).
MAYBE_SECRET_NAME = re.compile("(?i)" + "|".join((*_ANYWHERE, *_AT_END, *_WHOLE)))
# Names that match a fragment but are the shell's own, never secret.
NOT_SECRET = frozenset({"PATH", "LD_LIBRARY_PATH", "PWD", "OLDPWD"})

SECRET_VALUE = re.compile(
    r"(A3T[A-Z0-9]|AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA)[A-Z0-9]{16}"  # AWS access key ids
    r"|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}"  # GitHub
    r"|glpat-[A-Za-z0-9_-]{16,}|xox[abposr]-[A-Za-z0-9-]{10,}"  # GitLab, Slack
    r"|sk_live_[A-Za-z0-9]{16,}|API-[A-Z0-9]{20,}"  # Stripe, Octopus API keys
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
    # URLs with a password, scheme://user:password@. The scheme is tried only from
    # the start of a run of scheme characters (a lowercase letter somewhere in it):
    # trying every letter of a long run re-scanned the rest of the run each time,
    # quadratic in the value's length. Which values match is unchanged.
    r"|(?<![a-z0-9+.-])[0-9+.-]*[a-z][a-z0-9+.-]*://[^/\s:@]+:[^/\s@]+@"
)


def secret_name(name: str) -> bool:
    """Whether a setting with this name holds a secret."""
    return name not in NOT_SECRET and SECRET_NAME.search(name) is not None


def secret_value(value: str) -> bool:
    """Whether a value has the shape of a well-known credential."""
    return SECRET_VALUE.search(value) is not None


# Words a template's placeholder spells out; a generated secret is never all capitals.
_PLACEHOLDER_WORDS = re.compile(
    r"PASSWORD|PWD|SECRET|KEY|CHANGE|REPLACE|HERE|DEFINED|ABOVE|GENERATE|ENTER|INSERT|YOUR|TODO"
)
_PLACEHOLDER = re.compile(
    r"<[^<>]+>|\{\{.*\}\}|__\w+__|(?:your|Your|YOUR)(?:[_\-. ]|[A-Z])\S*"
    r"|(?i:change_?me|replace_?me|password|secret|todo)"
)
_SHOUTING = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")


def placeholder_value(text: str) -> bool:
    """A value a template leaves for the reader to replace, not a chosen secret.

    The heuristic (documented in OCT301): ``<...>``, ``{{...}}`` or ``__..__``
    around it; ``your`` and a separator or a capital first (``your_db_password``,
Microsoft's ``yourStrong(!)Password``); an
    all-capitals WORDS_WITH_UNDERSCORES value holding a placeholder word
    (``THE_SA_PASSWORD_DEFINED_ABOVE``, ``MASTER_KEY_HERE``, ``CHANGE_ME``);
    or one of the words changeme, replaceme, password, secret, todo. Sources:
    the placeholders of the Octopus documentation's and community examples
    (``your_db_password``, ``THE_SA_PASSWORD_DEFINED_ABOVE``).
    """
    text = text.strip()
    if _PLACEHOLDER.fullmatch(text):
        return True
    return bool(_SHOUTING.fullmatch(text) and _PLACEHOLDER_WORDS.search(text))
