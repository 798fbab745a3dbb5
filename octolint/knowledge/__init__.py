"""What octolint knows about the world, each fact once, with where it comes from.

Rules, the image probe and the redaction of secrets read their domain facts
from here instead of keeping their own copies:

- :mod:`~octolint.knowledge.dotnet`: the native libraries .NET (Calamari) needs
  besides glibc and ICU, and the packages that provide them;
- :mod:`~octolint.knowledge.icu`: the ICU versions .NET loads, the packages that
  provide ICU, and invariant-globalization mode;
- :mod:`~octolint.knowledge.version_managers`: nvm, pyenv, ... as a Dockerfile
  shows them and as an image holds them, from one table, and the shell start-up
  files they rely on;
- :mod:`~octolint.knowledge.secrets`: what a secret's name and value look like,
  one policy for image findings and deployment files;
- :mod:`~octolint.knowledge.base_images`: what is known about base images by
  name (musl, Windows releases, no shell, no ICU), and the table of well-known
  bases (ENTRYPOINT, libc, ICU, shell, Windows build, the ENV they set), each
  row with its source;
- :mod:`~octolint.knowledge.octopus`: what each Octopus Server version does with
  an image's CMD and ENTRYPOINT (``--octopus-version``), and how findings say it.

Each module is plain data and a few small functions: importing one costs about
what compiling its regular expressions costs, so a Dockerfile lint stays fast.
This package imports none of them itself; import the one you need.
"""
