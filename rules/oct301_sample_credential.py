"""OCT301 sample-credential: a password or connection string is empty or a published sample.

The Octopus Server examples ship with passwords everybody has read:
`N0tS3cr3t!` and `Passw0rd123` in the Docker Compose `.env` file,
`Password01!` in the Kubernetes manifests. Left in place they open the SQL
Server `sa` account and the Octopus administrator to anyone who can reach
the ports. An empty `SA_PASSWORD` stops SQL Server from starting, and an
empty `ADMIN_PASSWORD` for a named administrator leaves it without one.

Checked: `SA_PASSWORD`, `MSSQL_SA_PASSWORD`, `ADMIN_PASSWORD`, the
`Password=`/`Pwd=` part of `DB_CONNECTION_STRING`, and the names the older
Windows images read (`sa_password` of `microsoft/mssql-server-windows-express`;
`OctopusAdminPassword` and `sqlDbConnectionString` of the Windows Octopus
Server image: https://github.com/OctopusDeploy/Octopus-Docker), after `.env`
interpolation in Compose files. Values a Kubernetes container takes from a
Secret of the same input (`valueFrom.secretKeyRef`, `envFrom.secretRef`) are
decoded and checked too. The value is never printed, in any report format;
the source lines shown with the finding have it redacted. A value from a
Secret or ConfigMap that is not among the files, or from a variable set
nowhere, cannot be known and is not reported.

An empty `DB_CONNECTION_STRING` on the Octopus Server is reported: the
container has no database to connect to and stops at start-up (the
variable is required: https://octopus.com/docs/installation/octopus-server-linux-container).

Placeholders count as samples: a value nobody would choose as a password
but a template leaves for the reader to replace. The heuristic: `<...>`,
`{{...}}` or `__..__` around it; a value starting with `your` and a
separator or a capital (`your_db_password`, Microsoft's SQL Server sample
`yourStrong(!)Password`); an all-capitals
`WORDS_WITH_UNDERSCORES` value containing one of PASSWORD, PWD, SECRET, KEY,
CHANGE, REPLACE, HERE, DEFINED, ABOVE, GENERATE, ENTER, INSERT, YOUR, TODO
(`THE_SA_PASSWORD_DEFINED_ABOVE`, `CHANGE_ME`); and the words `changeme`,
`password`, `secret`, `replaceme`, `todo`. A real generated password has
lowercase letters or digits and none of those shapes.

Fails:

```yaml
services:
  db:
    image: mcr.microsoft.com/mssql/server:2022-latest
    environment:
      ACCEPT_EULA: "Y"
      SA_PASSWORD: N0tS3cr3t!
      MSSQL_MEMORY_LIMIT_MB: 2048
```

Passes:

```yaml
services:
  db:
    image: mcr.microsoft.com/mssql/server:2022-latest
    environment:
      ACCEPT_EULA: "Y"
      SA_PASSWORD: ${SA_PASSWORD}
      MSSQL_MEMORY_LIMIT_MB: 2048
```

How to fix: generate a strong password, keep it out of the repository
(a Kubernetes Secret referenced with `valueFrom.secretKeyRef`, or a `.env`
file that is not committed), and use the same one in `DB_CONNECTION_STRING`.
The option `sample-values` adds values of your own to refuse.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from octolint.deploy.target import Container, Value
from octolint.knowledge.secrets import placeholder_value
from octolint.plugin import DeployTarget, Options, Problem, SarifScore, list_of, problem_at

ID = "OCT301"
NAME = "sample-credential"
SEVERITY = "error"
APPLIES_TO = "deploy"
SUMMARY = "A password or DB connection string is empty or a value published in the examples."
HINT = "Use a generated secret (a Kubernetes Secret, an uncommitted .env), never a sample."
SARIF_SCORE = SarifScore("8.8", "high", security=True)  # published passwords open SQL/Octopus
OPTIONS = {"sample-values": list_of(str, default=[])}

# Published in the Octopus Server container examples (Compose .env, Kubernetes YAML).
PUBLISHED = ("N0tS3cr3t!", "Passw0rd123", "Password01!")
PASSWORDS = ("SA_PASSWORD", "MSSQL_SA_PASSWORD", "sa_password", "ADMIN_PASSWORD",
             "OctopusAdminPassword")  # fmt: skip
CONNECTIONS = ("DB_CONNECTION_STRING", "sqlDbConnectionString")
# SqlClient's syntax: a value may be quoted ("..." or '...', the quote doubled inside),
# and may then hold a ';'
_CONNECTION_PASSWORD = re.compile(
    r"""(?:^|;)\s*(?:password|pwd)\s*=\s*("(?:[^"]|"")*"|'(?:[^']|'')*'|[^;]*)""", re.I
)
# the administrator each password belongs to: without one, no password is needed
_USERNAMES = {"ADMIN_PASSWORD": "ADMIN_USERNAME", "OctopusAdminPassword": "OctopusAdminUsername"}


def check(target: DeployTarget, options: Options) -> Iterator[Problem]:
    # value -> how the message describes it: the user's own list is not "published"
    samples = {str(v): _OWN for v in options.get("sample-values", [])}
    samples.update(dict.fromkeys(PUBLISHED, _PUBLISHED))
    for container in target.containers:
        for name in PASSWORDS:
            value = container.env.get(name)
            if value is not None and value.known:
                yield from _password(container, name, value, samples)
        found = container.setting(*CONNECTIONS)
        if found is None or not found[1].known:
            continue
        name, connection = found
        if connection.text:
            yield from _connection(name, connection, samples)
        elif container.is_octopus:
            yield problem_at(connection, f"{name} is empty{connection.origin}: Octopus Server "
                             "has no database to connect to and stops at start-up")  # fmt: skip


_PUBLISHED = "a sample password published in the Octopus examples"
_OWN = "a value listed in sample-values (OCT301's option in your configuration)"


def _password(
    container: Container, name: str, value: Value, samples: dict[str, str]
) -> Iterator[Problem]:
    if value.text in samples:
        risk = ("anyone who has read them can log in" if samples[value.text] == _PUBLISHED
                else "use a generated secret instead")  # fmt: skip
        yield problem_at(value, f"{name} is {samples[value.text]}{value.origin}: {risk}")
    elif value.text and placeholder_value(value.text):
        yield problem_at(value, f"{name} is a placeholder left from a template"
                         f"{value.origin}: replace it with a generated password")  # fmt: skip
    elif value.text == "" and not _admin_optional(container, name):
        yield problem_at(value, f"{name} is empty{value.origin}: "
                         + _EMPTY.get(name, "the account has no password"))  # fmt: skip


_EMPTY = {
    "SA_PASSWORD": "SQL Server refuses to start without an sa password",
    "MSSQL_SA_PASSWORD": "SQL Server refuses to start without an sa password",
    "sa_password": "SQL Server refuses to start without an sa password",
}


def _admin_optional(container: Container, name: str) -> bool:
    """ADMIN_PASSWORD may be empty when no administrator is named, or an API key is given."""
    if name not in _USERNAMES:
        return False
    return not container.env_text(_USERNAMES[name]) or bool(container.env_text("ADMIN_API_KEY"))


def _unquoted(text: str) -> str:
    """A connection string value as SqlClient reads it: "N0tS3cr3t!" is N0tS3cr3t!."""
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1].replace(text[0] * 2, text[0])
    return text


def _connection(name: str, value: Value, samples: dict[str, str]) -> Iterator[Problem]:
    assert value.text is not None
    match = _CONNECTION_PASSWORD.search(value.text)
    if match is None:
        return  # integrated security or a password given elsewhere
    password = _unquoted(match.group(1).strip())
    if password in samples:
        yield problem_at(value, f"{name} embeds {samples[password]}{value.origin}")
    elif password == "":
        yield problem_at(value, f"{name} has an empty password{value.origin}")
    elif placeholder_value(password):
        yield problem_at(value, f"{name} embeds a placeholder password left from a "
                         f"template{value.origin}")  # fmt: skip
