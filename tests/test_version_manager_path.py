"""Issue 13 (3): OCT105/OCT106 count a PATH entry only when it really reaches the tools,
and OCT105's hint, pasted into the Dockerfile, fixes it (or visibly cannot)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from conftest import run_cli
from test_base_images import check_cases

NVM_INSTALL = (
    "RUN curl -o- https://raw.githubusercontent.com/nvm-sh/nvm/v0.39.7/install.sh | bash"
    ' && . "$NVM_DIR/nvm.sh" && nvm install "$NODE_VERSION"\n'
)
NVM = "FROM ubuntu:22.04\nENV NVM_DIR=/opt/nvm NODE_VERSION=20.11.1\n" + NVM_INSTALL
NVM_NO_VERSION = "FROM ubuntu:22.04\nENV NVM_DIR=/opt/nvm\n" + NVM_INSTALL  # NODE_VERSION?


def oct105(tmp_path: Path, text: str) -> list[dict[str, object]]:
    """OCT105's findings for one Dockerfile, through the CLI."""
    path = tmp_path / "Dockerfile"
    path.write_text(text, encoding="utf-8")
    result = run_cli(["--format", "json", "--fail-on", "never", str(path)])
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    return [f for f in json.loads(result.stdout)["findings"] if f["rule_id"] == "OCT105"]


def pasted(text: str, hint: str) -> str:
    """The Dockerfile with the hint's ENV PATH line added at the end."""
    start = hint.index("ENV PATH=")
    end = hint.index(':$PATH"', start) + len(':$PATH"')
    return text + hint[start:end] + "\n"


# -- an entry counts only when every variable in it resolves ------------------------------
RESOLUTION_CASES = {
    "no-node-version": (
        NVM_NO_VERSION + 'ENV PATH="$NVM_DIR/versions/node/v$NODE_VERSION/bin:$PATH"\n', 3),
    "home-not-set": ("FROM ubuntu:22.04\nRUN curl https://sh.rustup.rs -sSf | sh -s -- -y\n"
                     "ENV PATH=$HOME/.cargo/bin:$PATH\n", 2),
    "env-from-undefined": ("FROM ubuntu:22.04\nENV CARGO_HOME=$HOME/.cargo\n"
                           "RUN curl https://sh.rustup.rs -sSf | sh -s -- -y\n"
                           "ENV PATH=$CARGO_HOME/bin:$PATH\n", 3),
    "arg-from-undefined": ("FROM ubuntu:22.04\nARG CARGO_HOME=$HOME/.cargo\n"
                           "RUN curl https://sh.rustup.rs -sSf | sh -s -- -y\n"
                           "ENV PATH=$CARGO_HOME/bin:$PATH\n", 3),
    "resolved-env": (NVM + 'ENV PATH="$NVM_DIR/versions/node/v$NODE_VERSION/bin:$PATH"\n', None),
    "resolved-literal": ("FROM ubuntu:22.04\nRUN curl https://sh.rustup.rs -sSf | sh -s -- -y\n"
                         "ENV PATH=/root/.cargo/bin:$PATH\n", None),
    "arg-without-default": (  # a build parameter feeding both: every built image works
        "FROM ubuntu:22.04\nARG NODE_VERSION\n"
        "ENV PATH=/root/.nvm/versions/node/v${NODE_VERSION}/bin:$PATH\n"
        "RUN curl -o- https://raw.githubusercontent.com/nvm-sh/nvm/v0.39.7/install.sh | bash"
        " && . ~/.nvm/nvm.sh && nvm install v${NODE_VERSION}\n", None),
    "cargo-home-elsewhere": ("FROM ubuntu\nENV CARGO_HOME=/usr/local/rust\n"
                             "RUN curl https://sh.rustup.rs -sSf | sh -s -- -y\n"
                             "ENV PATH=$CARGO_HOME/bin:$PATH\n", None),
    "pyenv-root-elsewhere": ("FROM ubuntu\nENV PYENV_ROOT=/opt/py\n"
                             "ENV PATH=$PYENV_ROOT/shims:$PATH\n"
                             "RUN curl https://pyenv.run | bash && pyenv install 3.12.1\n", None),
    "pyenv-root-bin-only": ("FROM ubuntu\nENV PYENV_ROOT=/opt/py\nENV PATH=$PYENV_ROOT/bin:$PATH\n"
                            "RUN curl https://pyenv.run | bash && pyenv install 3.12.1\n", 4),
    "other-version": (NVM + "ENV PATH=/opt/nvm/versions/node/v18.19.0/bin:$PATH\n", 3),
    "major-installed": ("FROM ubuntu:22.04\nENV NVM_DIR=/opt/nvm\n"
                        "RUN . $NVM_DIR/nvm.sh && nvm install 20\n"
                        "ENV PATH=/opt/nvm/versions/node/v20.11.1/bin:$PATH\n", None),
    "major-only-dir": ("FROM ubuntu:22.04\nENV NVM_DIR=/opt/nvm NODE_VERSION=22\n" + NVM_INSTALL
                       + 'ENV PATH="$NVM_DIR/versions/node/v$NODE_VERSION/bin:$PATH"\n', 3),
    "placeholder": (NVM_NO_VERSION + "ENV PATH=/opt/nvm/versions/node/<version>/bin:$PATH\n", 3),
}  # fmt: skip


def test_oct105_entries_must_resolve(tmp_path: Path) -> None:
    found = check_cases(tmp_path, "OCT105", RESOLUTION_CASES)
    message = found["no-node-version"][0][2]
    assert "/opt/nvm/versions/node/v$NODE_VERSION/bin" in message
    assert "reaches nothing" in message


# -- tools reached another way ------------------------------------------------------------
OTHER_WAY_CASES = {
    "dir-linked-onto-path": (
        NVM + "RUN ln -s $(dirname $(which node)) /usr/local/node\n"
        "ENV PATH=/usr/local/node:$PATH\n",
        None),
    "dir-linked-off-path": (NVM + "RUN ln -s $(dirname $(which node)) /usr/local/node\n", 3),
    "binary-linked-into-bin": (
        NVM + "RUN ln -sf $NVM_DIR/versions/node/v$NODE_VERSION/bin/node /usr/local/bin/node\n",
        None),
    "binaries-linked-into-bin-dir": (
        NVM + "RUN ln -s $NVM_DIR/versions/node/v$NODE_VERSION/bin/* /usr/local/bin/\n", None),
    "alias-and-current-link": (
        NVM + "RUN . $NVM_DIR/nvm.sh && nvm alias default $NODE_VERSION"
        " && ln -s $NVM_DIR/versions/node/v$NODE_VERSION $NVM_DIR/current\n"
        "ENV PATH=$NVM_DIR/current/bin:$PATH\n", None),
    "update-alternatives": (
        NVM + "RUN update-alternatives --install /usr/bin/node node "
        "$NVM_DIR/versions/node/v$NODE_VERSION/bin/node 100\n", None),
    "devcontainer-sdkman": (
        "FROM mcr.microsoft.com/vscode/devcontainers/java:0-11\n"
        'RUN su vscode -c ". /usr/local/sdkman/bin/sdkman-init.sh && sdk install maven 3.9.6"\n',
        None),
    "devcontainer-nvm": (
        "FROM mcr.microsoft.com/devcontainers/javascript-node:20\n"
        'RUN su node -c ". /usr/local/share/nvm/nvm.sh && nvm install 18"\n', None),
    "rust-image": ("FROM rust:1\nRUN rustup target add mips-unknown-linux-musl\n", None),
    "ubuntu-rustup-env-sourced": (
        "FROM ubuntu\nRUN curl https://sh.rustup.rs -sSf | sh -s -- -y\n"
        'RUN . "$HOME/.cargo/env"\n', 2),
}  # fmt: skip


def test_oct105_tools_reached_another_way(tmp_path: Path) -> None:
    check_cases(tmp_path, "OCT105", OTHER_WAY_CASES)


# -- a manager with nothing installed through it ------------------------------------------
MANAGER_ONLY_CASES = {
    "nvm-on-node": ("FROM node:20\nRUN curl -o- https://raw.githubusercontent.com/nvm-sh/nvm/"
                    "v0.39.7/install.sh | bash\nENV NVM_DIR=/root/.nvm\n", None),
    "pyenv-own-bin": ("FROM alpine\nRUN curl https://pyenv.run | bash\n"
                      "ENV PATH /root/.pyenv/bin:/usr/bin:/bin\n", None),
    "pyenv-install": ("FROM python:3.9-bullseye\nRUN curl https://pyenv.run | bash\n"
                      'ENV PATH="/root/.pyenv/bin:${PATH}"\nRUN pyenv install 3.8.12\n', 2),
    "sdkman-only": ('FROM ubuntu\nRUN curl -s "https://get.sdkman.io" | bash\n', None),
}  # fmt: skip


def test_oct105_a_manager_alone_is_not_a_finding(tmp_path: Path) -> None:
    check_cases(tmp_path, "OCT105", MANAGER_ONLY_CASES)


# -- the hint: the file's real values, or a placeholder that keeps the finding -------------
FIXED_BY_HINT = {
    "nvm": (NVM, "/opt/nvm/versions/node/v20.11.1/bin"),
    "nvm-user": ("FROM ubuntu\nUSER runner\nRUN curl -o- https://raw.githubusercontent.com/"
                 "nvm-sh/nvm/v0.39.7/install.sh | bash && . ~/.nvm/nvm.sh && nvm install 20.11.1\n",
                 "/home/runner/.nvm/versions/node/v20.11.1/bin"),
    "rustup-arg-user": ("FROM ubuntu\nARG USERNAME=vscode\nUSER ${USERNAME}\n"
                        "RUN curl https://sh.rustup.rs -sSf | sh -s -- -y\n",
                        "/home/vscode/.cargo/bin"),
    "rustup-user": ("FROM ubuntu\nUSER runner\nRUN curl https://sh.rustup.rs -sSf | sh -s -- -y\n",
                    "/home/runner/.cargo/bin"),
    "pyenv-root": ("FROM ubuntu\nENV PYENV_ROOT=/opt/pyenv\nRUN curl https://pyenv.run | bash"
                   " && pyenv install 3.12.1\n", "/opt/pyenv/shims"),
    "sdkman": ('FROM ubuntu\nRUN curl -s https://get.sdkman.io | bash && bash -c ". '
               '~/.sdkman/bin/sdkman-init.sh && sdk install java 21.0.2-tem'
               ' && sdk install maven"\n',
               "/root/.sdkman/candidates/java/current/bin:"
               "/root/.sdkman/candidates/maven/current/bin"),
    "conda-prefix": ("FROM ubuntu\n"
                     "RUN bash Miniconda3-latest-Linux-x86_64.sh -b -p /opt/miniconda\n",
                     "/opt/miniconda/bin"),
    "rbenv": ("FROM ubuntu\nRUN git clone https://github.com/rbenv/rbenv.git ~/.rbenv"
              " && ~/.rbenv/bin/rbenv install 3.3.0\n", "/root/.rbenv/shims"),
    "asdf": ("FROM ubuntu\nRUN asdf install nodejs 20.0.0\n", "/root/.asdf/shims"),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(FIXED_BY_HINT))
def test_oct105_the_hint_uses_the_files_values_and_fixes_it(tmp_path: Path, case: str) -> None:
    text, directory = FIXED_BY_HINT[case]
    (finding,) = oct105(tmp_path, text)
    hint = str(finding["hint"])
    assert f'ENV PATH="{directory}:$PATH"' in hint
    assert "<" not in hint
    assert oct105(tmp_path, pasted(text, hint)) == []


@pytest.mark.parametrize(
    "text",
    [
        NVM_NO_VERSION,  # nvm install "$NODE_VERSION" with no NODE_VERSION
        "FROM ubuntu\nRUN . ~/.nvm/nvm.sh && nvm install --lts\n",
        "FROM ubuntu\nUSER 1000\nRUN curl https://sh.rustup.rs -sSf | sh -s -- -y\n",
    ],
)
def test_oct105_a_placeholder_hint_never_gives_a_false_all_clear(
    tmp_path: Path, text: str
) -> None:
    (finding,) = oct105(tmp_path, text)
    hint = str(finding["hint"])
    assert "<" in hint and "replace the <...> part" in hint
    path = tmp_path / "Dockerfile"
    path.write_text(pasted(text, hint), encoding="utf-8")
    result = run_cli([str(path)])
    assert "OCT105" in result.stdout
    assert "No problems found" not in result.stdout


# -- OCT106: $HOME in ENV PATH reaches nothing ---------------------------------------------
def test_oct106_home_in_env_path_does_not_cover_the_startup_file(tmp_path: Path) -> None:
    cases = {
        "home": ("FROM ubuntu\nENV PATH=$HOME/.cargo/bin:$PATH\n"
                 "RUN echo 'export PATH=$HOME/.cargo/bin:$PATH' >> ~/.bashrc\n", 3),
        "literal": ("FROM ubuntu\nUSER runner\nENV PATH=/home/runner/.cargo/bin:$PATH\n"
                    "RUN echo 'export PATH=$HOME/.cargo/bin:$PATH' >> ~/.zshrc\n", None),
        "env-from-home": ("FROM ubuntu\nUSER gitpod\nENV GOPATH=$HOME/go\n"
                          "ENV PATH=$GOPATH/bin:$PATH\n"
                          "RUN printf 'export PATH=$GOPATH/bin:$PATH' > ~/.bashrc.d/300-go\n", 5),
        "base-path": ("FROM rust:1\n"
                      "RUN echo 'export PATH=/usr/local/cargo/bin:$PATH' >> ~/.bashrc\n", None),
    }  # fmt: skip
    check_cases(tmp_path, "OCT106", cases)


# -- bounded: many ARGs and ENV PATH lines stay linear -----------------------------------
def test_many_args_and_path_entries_stay_linear(tmp_path: Path) -> None:
    """40,000 ARGs whose defaults need undefined variables and 20,000 ENV PATH lines
    (1.2 MB): a copy of the ARG scope per instruction made this take minutes."""
    lines = ["FROM ubuntu"]
    lines += [f"ARG A{i}=$U{i}" for i in range(40_000)]
    lines += [f"ENV PATH=$A{i}/bin:$PATH" for i in range(20_000)]
    lines.append("RUN . ~/.nvm/nvm.sh && nvm install 20.11.1")
    path = tmp_path / "Dockerfile"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    started = time.monotonic()
    result = run_cli(["--format", "json", "--fail-on", "never", str(path)])
    assert time.monotonic() - started < 60
    assert result.returncode == 0 and "Traceback" not in result.stderr
    rules = [f["rule_id"] for f in json.loads(result.stdout)["findings"]]
    assert "OCT105" in rules  # $A<i> was made empty by docker: none of them reaches nvm
