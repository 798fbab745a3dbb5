"""OCT105 version-manager-path: a version manager's tools without an ENV PATH entry."""

from rulecheck import dockerfile, where

NVM = (
    "FROM ubuntu:22.04\n"
    "ENV NVM_DIR=/root/.nvm NODE_VERSION=20.11.1\n"
    "RUN curl -o- https://raw.githubusercontent.com/nvm-sh/nvm/v0.39.7/install.sh | bash \\\n"
    ' && . "$NVM_DIR/nvm.sh" && nvm install "$NODE_VERSION"\n'
)
RUSTUP = "FROM ubuntu\nRUN curl https://sh.rustup.rs | sh -s -- -y\n"


def test_nvm_without_env_path_spans_the_run() -> None:
    found = dockerfile(NVM, "OCT105")
    assert where(found) == [("OCT105", 3, 1, 4)]
    assert found[0].message.startswith("nvm ")


def test_nvm_with_env_path_after_expansion_passes() -> None:
    fixed = NVM + 'ENV PATH="$NVM_DIR/versions/node/v$NODE_VERSION/bin:$PATH"\n'
    assert dockerfile(fixed, "OCT105") == []


def test_rustup_without_cargo_bin() -> None:
    assert where(dockerfile(RUSTUP, "OCT105")) == [("OCT105", 2, 1, 2)]


def test_env_path_in_any_order_passes() -> None:
    assert dockerfile(RUSTUP + "ENV PATH=/root/.cargo/bin:$PATH\n", "OCT105") == []
    before = "FROM ubuntu\nENV PATH=/root/.cargo/bin:$PATH\n" + RUSTUP.split("\n", 1)[1]
    assert dockerfile(before, "OCT105") == []


def test_linking_into_usr_local_bin_counts() -> None:
    text = (
        "FROM ubuntu\nRUN curl https://pyenv.run | bash\n"
        "RUN ln -s /root/.pyenv/shims/python /usr/local/bin/\n"
    )
    assert dockerfile(text, "OCT105") == []
