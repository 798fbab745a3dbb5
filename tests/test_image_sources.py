"""Image sources against real components: docker-registry, a token proxy, dockerd, archives.

Every image is written by tests/imagebuild.py; every registry and engine runs on
127.0.0.1 (tests/infra.py). Nothing here contacts Docker Hub or any other registry.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import logging
import os
import socket
import stat
import tarfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import pytest
import zstandard
from imagebuild import (
    Blob,
    Image,
    build_image,
    build_index,
    canonical_json,
    sha256,
    tar_layer,
    write_docker_archive,
    write_oci_archive,
    write_oci_layout,
    write_tar,
)

from octolint.errors import ConfigError, InputError
from octolint.image import model as m
from octolint.image.model import Platform
from octolint.image.sources.archive import ArchiveSource, split_archive_ref
from octolint.image.sources.base import (
    BadContentError,
    DigestMismatchError,
    ImageNotFoundError,
    ImageSource,
    PlatformError,
)
from octolint.image.sources.daemon import DaemonSource
from octolint.image.sources.registry import (
    RegistryAuthError,
    RegistryError,
    RegistryNotFoundError,
    RegistrySource,
    api_host,
    credential_server_url,
    find_credentials,
    parse_challenge,
)
from octolint.image.sources.resolve import open_source

if TYPE_CHECKING:
    from infra import DockerEngine, Proxy, Registry

# Not imported directly: as a plugin, infra's asserts get pytest's rewriting.
LAYER_BASE = tar_layer(
    {"etc/os-release": 'ID=debian\nVERSION_ID="12"\n', "usr/bin/tool": b"#!/bin/sh\necho hi\n"},
    dirs=["etc", "usr", "usr/bin"],
)
LAYER_APP = tar_layer({"app/data.txt": "hello\n"}, symlinks={"app/link": "data.txt"}, dirs=["app"])
ARM64 = Platform("linux", "arm64", "v8")
ARMV7 = Platform("linux", "arm", "v7")


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No user Docker config or engine leaks in; loopback traffic never goes to a proxy."""
    config_dir = tmp_path / "docker-config"
    config_dir.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(config_dir))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    return config_dir


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def write_docker_config(config_dir: Path, config: dict[str, Any]) -> None:
    (config_dir / "config.json").write_text(json.dumps(config))


def basic_auth_entry(user: str, password: str) -> dict[str, str]:
    return {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}


def read_blob(source: ImageSource, image: m.ResolvedImage, layer: m.Descriptor) -> bytes:
    with source.open_blob(image, layer) as stream:
        chunks = []
        while chunk := stream.read(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def uncompressed(data: bytes) -> bytes:
    if data.startswith(b"\x1f\x8b"):
        return gzip.decompress(data)
    if data.startswith(b"\x28\xb5\x2f\xfd"):
        return zstandard.ZstdDecompressor().decompressobj().decompress(data)
    return data


def assert_same_image(source: ImageSource, image: m.ResolvedImage, built: Image) -> None:
    """Config, digests and every layer's bytes, as the verification rules say."""
    assert image.config == built.config_dict
    assert image.config_digest == built.config.digest
    assert [layer.diff_id for layer in image.layers] == built.diff_ids
    for layer, blob, layer_tar in zip(image.layers, built.layers, built.layer_tars):
        data = read_blob(source, image, layer)
        if layer.verify == m.VERIFY_DIGEST:
            assert layer.digest == blob.digest
            assert sha256(data) == layer.digest
            assert data == blob.data
            assert layer.media_type == blob.media_type
        else:
            assert layer.verify == m.VERIFY_DIFF_ID
            assert sha256(uncompressed(data)) == layer.digest
        assert uncompressed(data) == layer_tar


E = TypeVar("E", bound=BaseException)


def resolve_error(
    source: ImageSource,
    error: type[E],
    match: str | None = None,
    platform: Platform | None = None,
) -> E:
    """Resolve (then close the source); the error it must raise."""
    with source, pytest.raises(error, match=match) as caught:
        source.resolve(platform)
    return caught.value


def simple_image(**kwargs: Any) -> Image:
    return build_image([LAYER_BASE, LAYER_APP], **kwargs)


def multi_platform_index(media: str = "oci") -> tuple[dict[str, Image], Any]:
    images = {
        "amd64": build_image([LAYER_BASE, tar_layer({"arch": "amd64"})], media=media),
        "arm64": build_image(
            [LAYER_BASE, tar_layer({"arch": "arm64"})], platform=ARM64, media=media
        ),
        "armv7": build_image(
            [LAYER_BASE, tar_layer({"arch": "armv7"})], platform=ARMV7, media=media
        ),
    }
    return images, build_index(list(images.values()), media=media, attestation=media == "oci")


# --- registry: anonymous --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("media", "compression"),
    [("oci", "gzip"), ("oci", "zstd"), ("oci", "none"), ("docker", "gzip"), ("docker", "none")],
)
def test_registry_resolves_and_streams(plain_registry: Registry, media: str, compression: str):
    built = simple_image(media=media, compression=compression)
    repo = unique("anon/app")
    pushed_digest = plain_registry.push(repo, "1.0", built)
    with RegistrySource(plain_registry.ref(repo, "1.0")) as source:
        assert (source.kind, source.description) == ("registry", f"registry {plain_registry.host}")
        [image] = source.resolve()
        assert image.reference == f"{plain_registry.host}/{repo}:1.0"
        assert image.where == f"registry {plain_registry.host}"
        assert image.manifest_digest == pushed_digest
        assert image.platform == m.DEFAULT_PLATFORM
        assert_same_image(source, image, built)


def test_registry_by_digest_and_default_tag(plain_registry: Registry):
    built = simple_image()
    repo = unique("anon/digest")
    digest = plain_registry.push(repo, "latest", built)
    with RegistrySource(f"{plain_registry.host}/{repo}@{digest}") as source:
        [image] = source.resolve()
        assert image.manifest_digest == digest
    with RegistrySource(f"{plain_registry.host}/{repo}") as source:
        [image] = source.resolve()
        assert image.reference.endswith(f"{repo}:latest")
        assert image.config_digest == built.config.digest


@pytest.mark.parametrize("media", ["oci", "docker"])
def test_registry_multi_platform(plain_registry: Registry, media: str):
    images, index = multi_platform_index(media)
    repo = unique("multi/app")
    plain_registry.push(repo, "1", index)
    with RegistrySource(plain_registry.ref(repo, "1")) as source:
        [default] = source.resolve()
        assert default.platform == m.DEFAULT_PLATFORM
        assert default.config_digest == images["amd64"].config.digest

        [arm64] = source.resolve(Platform.parse("linux/arm64"))
        assert arm64.platform == ARM64  # the variant from the config
        assert_same_image(source, arm64, images["arm64"])

        [armv7] = source.resolve(Platform.parse("linux/arm/v7"))
        assert armv7.config_digest == images["armv7"].config.digest

        every = source.resolve(all_platforms=True)
        assert [i.platform for i in every] == [m.DEFAULT_PLATFORM, ARM64, ARMV7]  # no attestation

        with pytest.raises(PlatformError) as caught:
            source.resolve(Platform.parse("linux/s390x"))
        message = str(caught.value)
        assert "linux/s390x" in message
        assert "linux/amd64, linux/arm/v7, linux/arm64/v8" in message
        assert "unknown" not in message


def test_registry_index_without_the_default_platform(plain_registry: Registry):
    arm_only = build_index([build_image([LAYER_BASE], platform=ARM64)], attestation=True)
    two = build_index(
        [build_image([LAYER_BASE], platform=ARM64), build_image([LAYER_APP], platform=ARMV7)]
    )
    repo = unique("multi/noamd64")
    plain_registry.push(repo, "one", arm_only)
    plain_registry.push(repo, "two", two)
    with RegistrySource(plain_registry.ref(repo, "one")) as source:
        [image] = source.resolve()  # the only image there is (the attestation is none)
        assert image.platform == ARM64
    resolve_error(
        RegistrySource(plain_registry.ref(repo, "two")),
        PlatformError,
        match=r"--platform: linux/arm/v7, linux/arm64/v8",
    )


def test_registry_single_platform_image_and_wrong_platform(plain_registry: Registry):
    repo = unique("single/app")
    plain_registry.push(repo, "1", build_image([LAYER_BASE], platform=ARM64))
    with RegistrySource(plain_registry.ref(repo, "1")) as source:
        assert source.resolve()[0].platform == ARM64  # no --platform: whatever it is
        with pytest.raises(PlatformError, match="is for linux/arm64/v8, not linux/amd64"):
            source.resolve(Platform.parse("linux/amd64"))


def test_registry_missing_image_is_a_clear_404(plain_registry: Registry):
    repo = unique("missing/app")
    error = resolve_error(RegistrySource(plain_registry.ref(repo, "nope")), RegistryNotFoundError)
    assert isinstance(error, InputError) and isinstance(error, ImageNotFoundError)
    assert (error.host, error.repository, error.status) == (plain_registry.host, repo, 404)
    text = str(error)
    assert plain_registry.host in text and repo in text
    assert "fetching manifest nope" in text and "HTTP 404" in text
    assert "MANIFEST_UNKNOWN" in text or "NAME_UNKNOWN" in text


def test_registry_refuses_artifacts(plain_registry: Registry):
    chart = build_image([LAYER_BASE])
    chart.config = Blob(chart.config.data, "application/vnd.cncf.helm.config.v1+json")
    manifest = json.loads(chart.manifest.data)
    manifest["config"] = chart.config.descriptor()
    chart.manifest = Blob(canonical_json(manifest), m.OCI_MANIFEST)
    repo = unique("artifact/chart")
    plain_registry.push(repo, "1", chart)
    resolve_error(
        RegistrySource(plain_registry.ref(repo, "1")),
        BadContentError,
        match="not a container image",
    )


# --- registry: faults, retries, timeouts ---------------------------------------------------


def test_registry_retries_5xx_then_succeeds(plain_registry: Registry, fault_proxy: Proxy):
    built = simple_image()
    repo = unique("retry/app")
    plain_registry.push(repo, "1", built)
    fault_proxy.add_fault(r"/manifests/", "status", status=503, count=2)
    fault_proxy.add_fault(r"/blobs/", "status", status=502, count=1)
    with RegistrySource(fault_proxy.ref(repo, "1")) as source:
        [image] = source.resolve()
        assert_same_image(source, image, built)
    manifest_gets = [s for s in fault_proxy.seen if "/manifests/1" in s]
    assert len(manifest_gets) == 3  # two 503s, then the answer


def test_registry_honours_retry_after(plain_registry: Registry, fault_proxy: Proxy):
    repo = unique("retry/after")
    plain_registry.push(repo, "1", simple_image())
    fault_proxy.add_fault(r"/manifests/", "status", status=429, retry_after="1")
    started = time.monotonic()
    with RegistrySource(fault_proxy.ref(repo, "1")) as source:
        source.resolve()
    assert time.monotonic() - started >= 0.9


def test_registry_gives_up_within_the_timeout(plain_registry: Registry, fault_proxy: Proxy):
    repo = unique("retry/never")
    plain_registry.push(repo, "1", simple_image())
    fault_proxy.add_fault(r"/manifests/", "status", status=500, count=1000)
    started = time.monotonic()
    caught_error = resolve_error(
        RegistrySource(fault_proxy.ref(repo, "1"), timeout=2), RegistryError
    )
    assert time.monotonic() - started < 20  # expected: about 2 s (the timeout); 10x that
    assert caught_error.status == 500
    assert "fetching manifest 1: HTTP 500" in str(caught_error)


def test_registry_unreachable_is_bounded():
    host = f"127.0.0.1:{free_port()}"  # nothing listens there
    started = time.monotonic()
    resolve_error(
        RegistrySource(f"{host}/app:1", timeout=2),
        RegistryError,
        match=r"connecting: cannot reach 127\.0\.0\.1:\d+",
    )
    assert time.monotonic() - started < 20  # expected: about 1.5 s; 10x that


def test_registry_truncated_blob_is_an_error(plain_registry: Registry, fault_proxy: Proxy):
    built = simple_image(compression="none")
    repo = unique("broken/blob")
    plain_registry.push(repo, "1", built)
    with RegistrySource(fault_proxy.ref(repo, "1")) as source:
        [image] = source.resolve()
        layer = image.layers[0]
        # One break is resumed (tests/test_hostile_registry.py); one on every try is not.
        fault_proxy.add_fault(f"/blobs/{layer.digest}", "truncate", count=100)
        with pytest.raises(RegistryError) as caught:
            read_blob(source, image, layer)
    assert f"fetching blob {layer.digest[:19]}" in str(caught.value)
    assert "connection lost" in str(caught.value)


def test_registry_manifest_by_digest_is_verified(plain_registry: Registry, fault_proxy: Proxy):
    repo = unique("broken/manifest")
    digest = plain_registry.push(repo, "1", simple_image())
    fault_proxy.add_fault(r"/manifests/sha256:", "append")
    resolve_error(
        RegistrySource(f"{fault_proxy.host}/{repo}@{digest}"),
        DigestMismatchError,
        match="does not match its digest",
    )


# --- registry: authentication ---------------------------------------------------------------


@pytest.mark.parametrize("form", ["auth", "username-password"])
def test_basic_auth_with_docker_config(
    basic_registry: Registry, isolated_environment: Path, form: str
):
    built = simple_image()
    repo = unique("basic/app")
    basic_registry.push(repo, "1", built)
    assert basic_registry.auth is not None
    user, password = basic_registry.auth
    entry: dict[str, str] = (
        basic_auth_entry(user, password)
        if form == "auth"
        else {"username": user, "password": password}
    )
    write_docker_config(isolated_environment, {"auths": {f"http://{basic_registry.host}": entry}})
    with RegistrySource(basic_registry.ref(repo, "1")) as source:
        [image] = source.resolve()
        assert_same_image(source, image, built)


def test_basic_auth_without_credentials(basic_registry: Registry):
    caught_error = resolve_error(
        RegistrySource(basic_registry.ref("basic/app", "1")), RegistryAuthError
    )
    text = str(caught_error)
    assert basic_registry.host in text and "HTTP 401" in text
    assert f"docker login {basic_registry.host}" in text


def test_wrong_password_never_leaks(
    basic_registry: Registry,
    isolated_environment: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
):
    planted = "Planted-Secret-" + uuid.uuid4().hex
    entry = basic_auth_entry("octo", planted)
    write_docker_config(isolated_environment, {"auths": {basic_registry.host: entry}})
    caplog.set_level(logging.DEBUG)
    error = resolve_error(RegistrySource(basic_registry.ref("basic/app", "1")), RegistryAuthError)
    assert error.status == 401 and error.host == basic_registry.host
    assert "refused the credentials from" in str(error)
    captured = capsys.readouterr()
    everything = "\n".join(
        [str(error), repr(error), *map(str, error.args), caplog.text, captured.out, captured.err]
    )
    for secret in (planted, entry["auth"]):
        assert secret not in everything


def test_right_password_never_logged(
    basic_registry: Registry,
    isolated_environment: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
):
    repo = unique("basic/quiet")
    basic_registry.push(repo, "1", simple_image())
    assert basic_registry.auth is not None
    user, password = basic_registry.auth
    entry = basic_auth_entry(user, password)
    write_docker_config(isolated_environment, {"auths": {basic_registry.host: entry}})
    caplog.set_level(logging.DEBUG)
    with RegistrySource(basic_registry.ref(repo, "1")) as source:
        source.resolve()
        with pytest.raises(RegistryNotFoundError) as caught:
            source.client.fetch_blob("sha256:" + "0" * 64, 100)
    captured = capsys.readouterr()
    everything = "\n".join([str(caught.value), caplog.text, captured.out, captured.err])
    assert "fetching blob sha256:000000000000" in everything
    assert password not in everything and entry["auth"] not in everything


def test_bearer_token_anonymous(token_registry: Proxy, plain_registry: Registry):
    built = simple_image()
    repo = unique("public/app")
    plain_registry.push(repo, "1", built)
    before = len(token_registry.tokens.requests_seen)
    with RegistrySource(token_registry.ref(repo, "1")) as source:
        [image] = source.resolve()
        assert_same_image(source, image, built)
        token = source.client._auth
        with pytest.raises(RegistryNotFoundError) as caught:
            source.client.fetch_manifest("missing-tag")
    seen = token_registry.tokens.requests_seen[before:]
    assert seen and seen[0]["user"] is None
    assert seen[0]["params"]["scope"] == f"repository:{repo}:pull"
    assert seen[0]["params"]["service"] == "octolint-test-registry"
    assert token and token.startswith("Bearer tok-")
    assert token[7:] not in str(caught.value)


def test_bearer_access_token_key(token_registry: Proxy, plain_registry: Registry):
    repo = unique("public/oauth-app")  # the token server answers {"access_token": ...}
    plain_registry.push(repo, "1", simple_image())
    with RegistrySource(token_registry.ref(repo, "1")) as source:
        assert source.resolve()[0].config_digest


def test_bearer_private_needs_credentials(token_registry: Proxy, plain_registry: Registry):
    repo = unique("private/app")
    plain_registry.push(repo, "1", simple_image())
    caught_error = resolve_error(RegistrySource(token_registry.ref(repo, "1")), RegistryAuthError)
    text = str(caught_error)
    assert f"authenticating at {urlsplit(token_registry.tokens.realm).netloc}" in text
    assert "HTTP 401" in text and "docker login" in text


def install_credential_helper(
    directory: Path, monkeypatch: pytest.MonkeyPatch, server: str, username: str, secret: str
) -> Path:
    """A real `docker-credential-test` on PATH that knows one server's credentials."""
    directory.mkdir(exist_ok=True)
    helper = directory / "docker-credential-test"
    answer = json.dumps({"ServerURL": server, "Username": username, "Secret": secret})
    helper.write_text(
        "#!/bin/sh\n"
        '[ "$1" = get ] || { echo "unsupported" ; exit 1; }\n'
        "read -r server\n"
        f'if [ "$server" = "{server}" ]; then\n'
        f"  echo '{answer}'\n"
        "else\n"
        '  echo "credentials not found in native keychain"; exit 1\n'
        "fi\n"
    )
    helper.chmod(helper.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{directory}{os.pathsep}{os.environ['PATH']}")
    return helper


@pytest.mark.parametrize("config_key", ["credHelpers", "credsStore"])
def test_bearer_private_with_credential_helper(
    token_registry: Proxy,
    plain_registry: Registry,
    isolated_environment: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    config_key: str,
):
    built = simple_image()
    repo = unique("private/helper")
    plain_registry.push(repo, "1", built)
    tokens = token_registry.tokens
    install_credential_helper(
        tmp_path / "bin", monkeypatch, token_registry.host, tokens.username, tokens.password
    )
    helpers = {token_registry.host: "test"} if config_key == "credHelpers" else "test"
    write_docker_config(isolated_environment, {config_key: helpers})
    before = len(token_registry.tokens.requests_seen)
    with RegistrySource(token_registry.ref(repo, "1")) as source:
        [image] = source.resolve()
        assert_same_image(source, image, built)
    users = [r["user"] for r in token_registry.tokens.requests_seen[before:]]
    assert users and set(users) == {tokens.username}


def test_credential_helper_without_credentials(
    token_registry: Proxy,
    isolated_environment: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    install_credential_helper(tmp_path / "bin", monkeypatch, "other.example:5000", "x", "y")
    write_docker_config(isolated_environment, {"credHelpers": {token_registry.host: "test"}})
    assert find_credentials(token_registry.host) is None  # "credentials not found": anonymous
    resolve_error(
        RegistrySource(token_registry.ref(unique("private/none"), "1")),
        RegistryAuthError,
        match="authenticating at .*HTTP 401",
    )


def test_missing_credential_helper_is_named(token_registry: Proxy, isolated_environment: Path):
    write_docker_config(isolated_environment, {"credsStore": "does-not-exist-octolint"})
    resolve_error(
        RegistrySource(token_registry.ref(unique("private/x"), "1")),
        InputError,
        match="docker-credential-does-not-exist-octolint",
    )


def test_identity_token_uses_the_oauth_refresh_flow(
    token_registry: Proxy, plain_registry: Registry, isolated_environment: Path
):
    repo = unique("private/identity")
    plain_registry.push(repo, "1", simple_image())
    refresh = token_registry.tokens.refresh_token
    entry = {**basic_auth_entry("octo", ""), "identitytoken": refresh}
    write_docker_config(isolated_environment, {"auths": {token_registry.host: entry}})
    before = len(token_registry.tokens.requests_seen)
    with RegistrySource(token_registry.ref(repo, "1")) as source:
        assert source.resolve()[0].config_digest
    methods = [r["method"] for r in token_registry.tokens.requests_seen[before:]]
    assert methods and set(methods) == {"POST"}


# --- registry: TLS --------------------------------------------------------------------------


def test_tls_registry_with_custom_ca(tls_registry: Registry, monkeypatch: pytest.MonkeyPatch):
    built = simple_image()
    repo = unique("tls/app")
    tls_registry.push(repo, "1", built)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_registry.ca_bundle))
    with RegistrySource(tls_registry.ref(repo, "1")) as source:
        [image] = source.resolve()
        assert_same_image(source, image, built)
        assert source.client._base == f"https://{tls_registry.host}"


def test_tls_registry_untrusted_certificate(
    tls_registry: Registry, monkeypatch: pytest.MonkeyPatch
):
    repo = unique("tls/untrusted")
    tls_registry.push(repo, "1", simple_image())
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    caught_error = resolve_error(
        RegistrySource(tls_registry.ref(repo, "1"), timeout=5), RegistryError
    )
    text = str(caught_error)
    assert "certificate verification failed" in text and "REQUESTS_CA_BUNDLE" in text
    # --insecure-registry accepts the certificate, as Docker does.
    with RegistrySource(
        tls_registry.ref(repo, "1"), insecure_registries=[tls_registry.host]
    ) as source:
        assert source.resolve()[0].config_digest


# --- registry: pure functions ---------------------------------------------------------------


def test_docker_hub_names_and_credentials(isolated_environment: Path):
    assert api_host("docker.io") == "registry-1.docker.io"
    assert api_host("ghcr.io") == "ghcr.io"
    assert credential_server_url("docker.io") == "https://index.docker.io/v1/"
    assert credential_server_url("localhost:5000") == "localhost:5000"
    source = RegistrySource("ubuntu")  # nothing is fetched until resolve()
    assert (source.ref.registry, source.ref.repository) == ("docker.io", "library/ubuntu")
    assert source.client.host == "registry-1.docker.io"
    source.close()
    write_docker_config(
        isolated_environment,
        {
            "auths": {
                "https://index.docker.io/v1/": basic_auth_entry("hubuser", "hubpass"),
                "https://ghcr.io": {"username": "gh", "password": "ghpass"},
            }
        },
    )
    hub = find_credentials("docker.io")
    assert hub is not None and (hub.username, hub.secret) == ("hubuser", "hubpass")
    assert "hubpass" not in repr(hub)
    ghcr = find_credentials("ghcr.io")
    assert ghcr is not None and ghcr.username == "gh"
    assert find_credentials("quay.io") is None


def test_bad_docker_config_is_an_input_error(isolated_environment: Path):
    (isolated_environment / "config.json").write_text("{not json")
    with pytest.raises(InputError, match=r"config\.json: the Docker config is not valid JSON"):
        find_credentials("ghcr.io")


def test_parse_challenge():
    scheme, params = parse_challenge(
        'Bearer realm="https://auth.example/token",service="registry.example",'
        'scope="repository:a/b:pull,push"'
    )
    assert scheme == "bearer"
    assert params == {
        "realm": "https://auth.example/token",
        "service": "registry.example",
        "scope": "repository:a/b:pull,push",
    }
    assert parse_challenge('Basic realm="Registry Realm"') == ("basic", {"realm": "Registry Realm"})


# --- archives -------------------------------------------------------------------------------


@pytest.mark.parametrize("compress_layers", ["none", "gzip"])
def test_docker_archive_legacy(tmp_path: Path, compress_layers: str):
    built = build_image([LAYER_BASE, LAYER_APP, LAYER_BASE])  # a repeated layer: a symlink
    path = write_docker_archive(
        tmp_path / "image.tar", [(built, ["app:1"])], compress_layers=compress_layers
    )
    with tarfile.open(path) as tar:
        assert any(member.issym() for member in tar.getmembers())
    with ArchiveSource.from_ref(str(path)) as source:
        [image] = source.resolve()
        assert source.format == "docker-archive"
        assert image.where == f"archive {path}"
        assert all(layer.verify == m.VERIFY_DIFF_ID for layer in image.layers)
        assert [layer.digest for layer in image.layers] == built.diff_ids
        expected = m.OCI_LAYER_TAR if compress_layers == "none" else m.OCI_LAYER_GZIP
        assert {layer.media_type for layer in image.layers} == {expected}
        assert_same_image(source, image, built)


def test_docker_archive_oci_style(tmp_path: Path):
    """Docker 25+ `docker save`: blobs/sha256 members, index.json and manifest.json."""
    built = simple_image()
    path = write_docker_archive(
        tmp_path / "new.tar", [(built, ["docker.io/library/app:2"])], layout="oci"
    )
    with ArchiveSource.from_ref(f"{path}:app:2") as source:
        [image] = source.resolve()
        assert source.format == "docker-archive"
        assert image.reference == f"{path}:app:2"
        assert_same_image(source, image, built)


def test_docker_archive_picks_by_name(tmp_path: Path):
    one = build_image([LAYER_BASE], cmd=["one"])
    two = build_image([LAYER_BASE, LAYER_APP], cmd=["two"])
    path = write_docker_archive(
        tmp_path / "two.tar", [(one, ["app:1", "app:latest"]), (two, ["ghcr.io/acme/app:2"])]
    )

    def cmd(ref: str) -> list[str]:
        with ArchiveSource.from_ref(ref) as source:
            return list(source.resolve()[0].config["config"]["Cmd"])

    assert cmd(f"{path}:app:1") == ["one"]
    assert cmd(f"{path}:docker.io/library/app") == ["one"]  # normalised, :latest implied
    assert cmd(f"{path}:ghcr.io/acme/app:2") == ["two"]
    assert cmd(f"{path}:2") == ["two"]  # a bare tag
    assert cmd(f"{path}:@1") == ["two"]
    with pytest.raises(ImageNotFoundError, match=r"holds 2 images; name one as PATH:NAME"):
        cmd(str(path))
    with pytest.raises(ImageNotFoundError) as caught:
        cmd(f"{path}:nope")
    assert str(path) in str(caught.value)
    assert "app:1, app:latest, ghcr.io/acme/app:2" in str(caught.value)


@pytest.mark.parametrize("compression", ["gzip", "zstd", "none"])
def test_oci_layout_directory(tmp_path: Path, compression: str):
    built = simple_image(compression=compression)
    root = write_oci_layout(tmp_path / "layout", [("1.0", built)])
    with ArchiveSource.from_ref(str(root)) as source:
        [image] = source.resolve()
        assert source.format == "oci-layout"
        assert image.manifest_digest == built.manifest.digest
        assert all(layer.verify == m.VERIFY_DIGEST for layer in image.layers)
        assert_same_image(source, image, built)


def test_oci_layout_multi_platform_and_names(tmp_path: Path):
    images, index = multi_platform_index()
    other = build_image([LAYER_APP], cmd=["other"])
    root = write_oci_layout(tmp_path / "layout", [("1.0", index), ("other", other)])
    with ArchiveSource.from_ref(f"{root}:1.0") as source:
        assert source.resolve()[0].config_digest == images["amd64"].config.digest
        [arm] = source.resolve(Platform.parse("linux/arm64"))
        assert_same_image(source, arm, images["arm64"])
        assert len(source.resolve(all_platforms=True)) == 3
    with ArchiveSource.from_ref(f"{root}:other") as source:
        assert source.resolve()[0].config["config"]["Cmd"] == ["other"]
    resolve_error(ArchiveSource.from_ref(str(root)), ImageNotFoundError, match="1.0, other")


def test_oci_layout_unnamed_platform_manifests(tmp_path: Path):
    """index.json listing per-platform manifests directly (no names): it is the index."""
    images, _index = multi_platform_index()
    root = write_oci_layout(tmp_path / "layout", [(None, img) for img in images.values()])
    document = json.loads((root / "index.json").read_text())
    platforms = {
        "amd64": {"os": "linux", "architecture": "amd64"},
        "arm64": {"os": "linux", "architecture": "arm64", "variant": "v8"},
        "armv7": {"os": "linux", "architecture": "arm", "variant": "v7"},
    }
    for entry, name in zip(document["manifests"], images):
        entry["platform"] = platforms[name]
    (root / "index.json").write_text(json.dumps(document))
    with ArchiveSource.from_ref(str(root)) as source:
        assert source.resolve()[0].platform == m.DEFAULT_PLATFORM
        assert source.resolve(Platform.parse("linux/arm/v7"))[0].platform == ARMV7


@pytest.mark.parametrize("gzipped", [False, True])
def test_oci_archive(tmp_path: Path, gzipped: bool):
    built = simple_image(compression="zstd")
    path = write_oci_archive(tmp_path / "image.oci.tar", [("latest", built)])
    if gzipped:
        path = tmp_path / "image.oci.tar.gz"
        path.write_bytes(gzip.compress((tmp_path / "image.oci.tar").read_bytes()))
    with ArchiveSource.from_ref(str(path)) as source:
        [image] = source.resolve()
        assert source.format == "oci-archive"
        assert_same_image(source, image, built)


def test_split_archive_ref(tmp_path: Path):
    path = tmp_path / "with:colon.tar"
    path.write_bytes(b"")
    assert split_archive_ref(str(path)) == (path, None)
    assert split_archive_ref(f"{path}:app:1") == (path, "app:1")
    plain = tmp_path / "plain.tar"
    plain.write_bytes(b"")
    assert split_archive_ref(f"{plain}:") == (plain, None)
    assert split_archive_ref(f"{tmp_path}/missing.tar:1") is None
    assert split_archive_ref("ubuntu:22.04") is None
    (tmp_path / "ubuntu").mkdir()  # a directory that is not an image layout
    assert split_archive_ref(f"{tmp_path}/ubuntu:22.04") is None
    (tmp_path / "ubuntu" / "index.json").write_text("{}")
    assert split_archive_ref(f"{tmp_path}/ubuntu:22.04") == (tmp_path / "ubuntu", "22.04")


def _broken_archives(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """name -> (path, expected message part) for each way an archive can be broken."""
    built = simple_image()
    good = write_docker_archive(tmp_path / "good.tar", [(built, ["app:1"])])
    data = good.read_bytes()
    cases: dict[str, tuple[Path, str]] = {}

    def case(name: str, content: bytes | dict[str, bytes], message: str) -> None:
        path = tmp_path / f"{name}.tar"
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            write_tar(path, content)
        cases[name] = (path, message)

    case("not-a-tar", b"this is not a tar archive at all\n" * 40, "not a readable tar archive")
    case("truncated", data[: len(data) // 2], "truncated")
    case("no-manifest", {"README": b"hello"}, "no manifest.json (docker save) or index.json")
    case("bad-json", {"manifest.json": b"[{not json"}, "manifest.json is not valid JSON")
    config_name = f"{built.config.digest.split(':')[1]}.json"
    layer_names = json.loads(_member(good, "manifest.json"))[0]["Layers"]
    manifest = json.dumps([{"Config": config_name, "RepoTags": ["app:1"], "Layers": layer_names}])
    case(
        "missing-layer",
        {"manifest.json": manifest.encode(), config_name: built.config.data},
        "missing layer sha256:",
    )
    tampered = built.config.data.replace(b'"/bin/sh"', b'"/bin/zz"')
    case(
        "config-mismatch",
        {"manifest.json": manifest.encode(), config_name: tampered},
        "does not match its digest",
    )
    # OCI: a manifest whose config is not an image config, and a missing layer blob.
    layout = {"oci-layout": b'{"imageLayoutVersion":"1.0.0"}'}
    wrong = json.loads(built.manifest.data)
    wrong["config"]["mediaType"] = "application/vnd.cncf.helm.config.v1+json"
    wrong_blob = Blob(canonical_json(wrong), m.OCI_MANIFEST)
    blobs = {f"blobs/sha256/{b.digest.split(':')[1]}": b.data for b in [*built.blobs(), wrong_blob]}
    index = {"schemaVersion": 2, "manifests": [wrong_blob.descriptor()]}
    case(
        "wrong-media-type",
        {**layout, **blobs, "index.json": json.dumps(index).encode()},
        "not a container image",
    )
    no_layer = {k: v for k, v in blobs.items() if built.layers[0].digest.split(":")[1] not in k}
    index = {"schemaVersion": 2, "manifests": [built.manifest.descriptor()]}
    no_layer[f"blobs/sha256/{built.manifest.digest.split(':')[1]}"] = built.manifest.data
    case(
        "missing-blob",
        {**layout, **no_layer, "index.json": json.dumps(index).encode()},
        "missing blob sha256:",
    )
    short = json.loads(built.manifest.data)
    short["layers"] = short["layers"][:1]
    short_blob = Blob(canonical_json(short), m.OCI_MANIFEST)
    index = {"schemaVersion": 2, "manifests": [short_blob.descriptor()]}
    case(
        "diff-id-count",
        {
            **layout,
            **blobs,
            short_blob.digest.replace("sha256:", "blobs/sha256/"): short_blob.data,
            "index.json": json.dumps(index).encode(),
        },
        "lists 1 layers but its config has 2 diff_ids",
    )
    return cases


def _member(path: Path, name: str) -> bytes:
    with tarfile.open(path) as tar:
        member = tar.extractfile(name)
        assert member is not None
        return member.read()


BROKEN = [
    "not-a-tar",
    "truncated",
    "no-manifest",
    "bad-json",
    "missing-layer",
    "config-mismatch",
    "wrong-media-type",
    "missing-blob",
    "diff-id-count",
]


@pytest.mark.parametrize("name", BROKEN)
def test_broken_archives_are_input_errors(tmp_path: Path, name: str):
    path, message = _broken_archives(tmp_path)[name]
    with pytest.raises(InputError) as caught, ArchiveSource.from_ref(str(path)) as source:
        for image in source.resolve():
            for layer in image.layers:
                read_blob(source, image, layer)
    text = str(caught.value)
    assert text.startswith(f"{path}: "), text
    assert message in text, text


def test_archive_ending_inside_a_layer_is_truncated(tmp_path: Path):
    big = tar_layer({"big.bin": bytes(range(256)) * 800})
    path = write_docker_archive(tmp_path / "image.tar", [(build_image([LAYER_BASE, big]), [])])
    data = path.read_bytes()
    path.write_bytes(data[: data.index(b"big.bin") + 50_000])  # inside the big layer's data
    with pytest.raises(InputError) as caught:
        ArchiveSource.from_ref(str(path)).resolve()
    assert str(caught.value).startswith(f"{path}: truncated: the archive ends inside '")
    assert "/layer.tar'" in str(caught.value)


def test_missing_archive_and_bad_reference():
    with pytest.raises(ImageNotFoundError, match="no such file"):
        ArchiveSource.from_ref("/nonexistent/image.tar")
    with pytest.raises(ImageNotFoundError, match="neither an existing file nor a valid image"):
        open_source("Not A Ref")
    with pytest.raises(ConfigError, match="unknown image source 'ftp'"):
        open_source("ubuntu", kind="ftp")


@pytest.mark.parametrize("ref", [
    "UPPER/Case:tag",  # Docker: "repository name must be lowercase"
    "127.0.0.1:9/QA/Img:1",
    "127.0.0.1:9/qa/img@sha256:bad",  # not a digest: never sent to the registry
    "127.0.0.1:9/qa/img@sha256:" + "a" * 63,
    "127.0.0.1:9/qa//img:1",
    "127.0.0.1:9/qa/img:-bad",
    "127.0.0.1:9/qa/img:" + "t" * 129,
])  # fmt: skip
def test_what_docker_refuses_as_a_reference_is_refused_here(ref: str) -> None:
    # port 9 (discard): nothing listens, and nothing is asked
    with pytest.raises(ImageNotFoundError, match="neither an existing file nor a valid image"):
        open_source(ref, kind="registry")


# --- the Docker engine ----------------------------------------------------------------------


def _load(
    engine: DockerEngine,
    tmp_path: Path,
    built: Image,
    tags: list[str],
    compress_layers: str = "none",
) -> None:
    archive = write_docker_archive(
        tmp_path / "load.tar", [(built, tags)], compress_layers=compress_layers
    )
    engine.load(archive.read_bytes())


@pytest.mark.parametrize("compress_layers", ["none", "gzip"])
def test_daemon_source(
    docker_engine: DockerEngine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    compress_layers: str,
):
    monkeypatch.setenv("DOCKER_HOST", docker_engine.host)
    built = build_image(
        [LAYER_BASE, LAYER_APP],
        entrypoint=["/usr/bin/tool"],
        cmd=["--help"],
        env=["PATH=/usr/bin:/bin", "APP=1"],
    )
    tag = f"octolint-test/{unique('daemon')}:1"
    _load(docker_engine, tmp_path, built, [tag], compress_layers)
    with DaemonSource(tag, spool_dir=tmp_path) as source:
        assert source.description == f"docker engine {docker_engine.host}"
        assert source.has_image() and not source.has_image("octolint-test/absent:1")
        [image] = source.resolve()
        assert image.source == "daemon" and image.platform == m.DEFAULT_PLATFORM
        assert image.config_digest == built.config.digest  # the engine keeps the config as loaded
        assert image.config["config"]["Entrypoint"] == ["/usr/bin/tool"]
        assert image.config["config"]["Cmd"] == ["--help"]
        assert image.config["config"]["Env"] == ["PATH=/usr/bin:/bin", "APP=1"]
        assert image.config["rootfs"]["diff_ids"] == built.diff_ids
        assert len(image.config["history"]) == len(built.config_dict["history"])
        for layer, layer_tar in zip(image.layers, built.layer_tars):
            assert layer.verify == m.VERIFY_DIFF_ID
            data = read_blob(source, image, layer)
            assert hashlib.sha256(data).hexdigest() == layer.digest.split(":")[1]
            assert data == layer_tar
        # Layers are read from several threads at once: still one save, same bytes.
        with ThreadPoolExecutor(4) as pool:
            blobs = list(pool.map(lambda d: read_blob(source, image, d), image.layers * 3))
        assert blobs == built.layer_tars * 3
        assert len(list(tmp_path.glob("octolint-save-*.tar"))) == 1  # spooled where told
    assert not list(tmp_path.glob("octolint-save-*.tar"))  # and removed by close()


def test_daemon_missing_image(docker_engine: DockerEngine, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("DOCKER_HOST", docker_engine.host)
    resolve_error(
        DaemonSource("octolint-test/absent:404"),
        ImageNotFoundError,
        match="no image 'octolint-test/absent:404'",
    )


def test_daemon_wrong_platform(
    docker_engine: DockerEngine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("DOCKER_HOST", docker_engine.host)
    tag = f"octolint-test/{unique('arm')}:1"
    _load(docker_engine, tmp_path, build_image([LAYER_BASE], platform=ARM64), [tag])
    with DaemonSource(tag) as source:
        assert source.resolve()[0].platform.architecture == "arm64"
        with pytest.raises(PlatformError):
            source.resolve(Platform.parse("linux/amd64"))


# --- automatic selection --------------------------------------------------------------------


def test_auto_picks_archive_for_paths(tmp_path: Path):
    path = write_oci_archive(tmp_path / "image.tar", [("1", simple_image())])
    with open_source(f"{path}:1") as source:
        assert (source.kind, source.description) == ("archive", f"archive {path}")


def test_auto_without_engine_uses_registry(plain_registry: Registry):
    repo = unique("auto/noengine")
    built = simple_image()
    plain_registry.push(repo, "1", built)
    started = time.monotonic()
    source = open_source(plain_registry.ref(repo, "1"))  # DOCKER_HOST names no socket
    try:
        assert time.monotonic() - started < 5  # expected: about 0.3 s, no engine to wait for
        assert (source.kind, source.description) == ("registry", f"registry {plain_registry.host}")
        assert source.resolve()[0].config_digest == built.config.digest
    finally:
        source.close()


def test_auto_prefers_engine_that_has_the_image(
    docker_engine: DockerEngine,
    plain_registry: Registry,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
):
    monkeypatch.setenv("DOCKER_HOST", docker_engine.host)
    repo = unique("auto/both")
    in_engine = build_image([LAYER_BASE], cmd=["engine"])
    in_registry = build_image([LAYER_BASE], cmd=["registry"])
    plain_registry.push(repo, "1", in_registry)
    _load(docker_engine, tmp_path, in_engine, [plain_registry.ref(repo, "1")])
    source = open_source(plain_registry.ref(repo, "1"))
    try:
        assert (source.kind, source.description) == (
            "daemon",
            f"docker engine {docker_engine.host}",
        )
        assert source.resolve()[0].config["config"]["Cmd"] == ["engine"]
    finally:
        source.close()
    source = open_source(plain_registry.ref(repo, "1"), kind="registry")
    try:
        assert source.resolve()[0].config["config"]["Cmd"] == ["registry"]
    finally:
        source.close()
    only_registry = unique("auto/registry-only")
    plain_registry.push(only_registry, "1", in_registry)
    source = open_source(plain_registry.ref(only_registry, "1"))
    try:
        assert source.kind == "registry"
    finally:
        source.close()
