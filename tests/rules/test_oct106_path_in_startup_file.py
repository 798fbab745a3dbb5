"""OCT106 path-in-startup-file: PATH added only in a shell start-up file, at the RUN."""

from rulecheck import dockerfile, where

BASHRC = "FROM ubuntu:22.04\nRUN echo 'export PATH=\"/opt/tools/bin:$PATH\"' >> /root/.bashrc\n"


def test_export_appended_to_bashrc() -> None:
    found = dockerfile(BASHRC, "OCT106")
    assert where(found) == [("OCT106", 2, 1, 2)]
    assert "/opt/tools/bin" in found[0].message


def test_tee_into_profile_d() -> None:
    text = "FROM ubuntu\nRUN echo 'export PATH=/x/bin:$PATH' | tee -a /etc/profile.d/x.sh\n"
    assert where(dockerfile(text, "OCT106")) == [("OCT106", 2, 1, 2)]


def test_same_directory_in_env_path_passes() -> None:
    assert dockerfile(BASHRC + 'ENV PATH="/opt/tools/bin:$PATH"\n', "OCT106") == []
