"""ImageFS: layers merged with OCI/overlayfs semantics; paths resolved inside the image only."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from realroots import SpecItem, debian_index, index_of

from octolint.image.fs import MAX_SYMLINKS, ImageFS
from octolint.image.model import DIR, FILE, HARDLINK, SYMLINK, Entry, LayerIndex


def fs_of(*layers: list[SpecItem]) -> ImageFS:
    return ImageFS.from_indexes([index_of(spec) for spec in layers])


BASE: list[SpecItem] = [
    ("etc", "dir", None),
    ("etc/os-release", "file", b"ID=base\n"),
    ("usr/lib/app", "dir", None),
    ("usr/lib/app/one.so", "file", b"1"),
    ("usr/lib/app/two.so", "file", b"2"),
    ("usr/lib/app/sub/three", "file", b"3"),
    ("opt/tool", "file", b"#!/bin/sh\n", 0o755),
]


# -- merging -----------------------------------------------------------------------------


def test_a_later_entry_replaces_an_earlier_one_and_says_which_layer() -> None:
    lower, upper = index_of(BASE), index_of([("etc/os-release", "file", b"ID=upper\n")])
    fs = ImageFS.from_indexes([lower, upper])
    assert fs.read("/etc/os-release") == b"ID=upper\n"
    assert fs.layer_of("/etc/os-release") == upper.digest
    assert fs.layer_of("/usr/lib/app/one.so") == lower.digest
    assert fs.layer_of("/nothing") is None and fs.layer_of("/") is None


def test_a_whiteout_deletes_the_path_and_everything_below_it() -> None:
    fs = fs_of(BASE, [("usr/lib/app", "whiteout", None), ("opt/tool", "whiteout", None)])
    for gone in ("/usr/lib/app", "/usr/lib/app/one.so", "/usr/lib/app/sub/three", "/opt/tool"):
        assert not fs.exists(gone), gone
    assert fs.listdir("/usr/lib") == [] and fs.listdir("/opt") == []
    assert fs.exists("/etc/os-release")


def test_a_whiteout_only_affects_lower_layers() -> None:
    # The same layer may delete a path and create it anew (a file replaced by a directory).
    fs = fs_of(BASE, [("opt/tool", "whiteout", None), ("opt/tool/new", "file", b"n")])
    assert fs.lookup("/opt/tool") == Entry(DIR, 0o755)
    assert fs.listdir("/opt/tool") == ["new"]


def test_an_opaque_directory_hides_lower_children_only() -> None:
    fs = fs_of(
        BASE,
        [("usr/lib/app", "dir", None), ("usr/lib/app", "opaque", None),
         ("usr/lib/app/fresh.so", "file", b"f")],
    )  # fmt: skip
    assert fs.listdir("/usr/lib/app") == ["fresh.so"]
    assert not fs.exists("/usr/lib/app/sub/three")
    assert fs.exists("/etc/os-release")


def test_directories_merge_but_a_file_over_a_directory_removes_its_children() -> None:
    fs = fs_of(BASE, [("usr/lib/app", "dir", None), ("usr/lib/app/four.so", "file", b"4")])
    assert fs.listdir("/usr/lib/app") == ["four.so", "one.so", "sub", "two.so"]
    fs = fs_of(BASE, [("usr/lib/app", "file", b"now a file")])
    assert fs.lookup("/usr/lib/app") == Entry(FILE, 0o644, 10)
    assert not fs.exists("/usr/lib/app/one.so")
    assert not any(p.startswith("/usr/lib/app/") for p in fs.walk())
    fs = fs_of(BASE, [("usr/lib/app", "symlink", "/opt")])
    assert fs.listdir("/usr/lib/app") == ["tool"]  # the symlink, followed


def test_missing_parents_are_implicit_directories() -> None:
    fs = fs_of([("a/b/c/file", "file", b"x")])
    assert fs.lookup("/a/b") == Entry(DIR, 0o755)
    assert fs.listdir("/") == ["a"] and fs.listdir("/a/b") == ["c"]
    assert sorted(fs.walk()) == ["/", "/a", "/a/b", "/a/b/c", "/a/b/c/file"]


def test_an_upper_directory_hides_a_lower_symlink_like_overlayfs() -> None:
    # Extracting lib/x into a fresh upper directory creates a real "lib" there.
    fs = fs_of(
        [("usr/lib/libc.so.6", "file", b"c"), ("lib", "symlink", "usr/lib")],
        [("lib/ld-musl-x86_64.so.1", "file", b"m")],
    )
    assert fs.lookup("/lib", follow_symlinks=False) == Entry(DIR, 0o755)
    assert fs.listdir("/lib") == ["ld-musl-x86_64.so.1"]
    assert not fs.exists("/lib/libc.so.6") and fs.exists("/usr/lib/libc.so.6")


def test_hard_links_read_their_layers_content_even_after_the_target_is_deleted() -> None:
    fs = fs_of(
        [("etc/ld.so.conf", "file", b"include /etc/ld.so.conf.d/*.conf\n", 0o600),
         ("etc/alias", "hardlink", "etc/ld.so.conf")],
        [("etc/ld.so.conf", "whiteout", None)],
    )  # fmt: skip
    assert not fs.exists("/etc/ld.so.conf")
    assert fs.read("/etc/alias") == b"include /etc/ld.so.conf.d/*.conf\n"
    assert fs.lookup("/etc/alias") == Entry(FILE, 0o600, 33)
    assert fs.lookup("/etc/alias", follow_symlinks=False) == Entry(
        HARDLINK, 0o644, 0, "/etc/ld.so.conf"
    )


def test_facts_follow_symlinks_and_hard_links_to_the_providing_layer() -> None:
    banner = b"GNU C Library (GNU libc) stable release version 2.31.\n"
    fs = fs_of(
        [("lib/x86_64-linux-gnu/libc-2.31.so", "file", banner),
         ("lib/x86_64-linux-gnu/libc.so.6", "symlink", "libc-2.31.so"),
         ("lib/libc-hard.so", "hardlink", "lib/x86_64-linux-gnu/libc-2.31.so")],
    )  # fmt: skip
    assert fs.fact("/lib/x86_64-linux-gnu/libc.so.6", "glibc") == "2.31"
    assert fs.fact("/lib/libc-hard.so", "glibc") == "2.31"
    assert fs.fact("/lib/x86_64-linux-gnu/libc.so.6", "musl") is None
    assert fs.fact("/nowhere", "glibc") is None


def test_root_entries_and_root_whiteouts_do_not_break_the_tree() -> None:
    index = LayerIndex("sha256:" + "1" * 64, entries={"/": Entry(FILE), "/a": Entry(FILE)},
                       whiteouts={"/"})  # fmt: skip
    fs = ImageFS.from_indexes([index_of(BASE), index])
    assert fs.lookup("/") is not None and fs.lookup("/").kind == DIR  # type: ignore[union-attr]
    assert fs.listdir("/") == ["a"]


# -- resolution ---------------------------------------------------------------------------

LINKS: list[SpecItem] = [
    ("etc/passwd", "file", b"image-root:x:0:0::/root:/bin/sh\n"),
    ("usr/lib/os-release", "file", b"ID=image\n"),
    ("etc/os-release", "symlink", "../usr/lib/os-release"),
    ("bin", "symlink", "usr/bin"),
    ("usr/bin/env", "file", b"ELF", 0o755),
    ("usr/bin/python3", "symlink", "/usr/bin/env"),
    ("usr/bin/data", "file", b"not executable", 0o644),
    ("usr/bin/pylink", "symlink", "python3"),
    ("escape", "symlink", "../../../../etc/passwd"),
    ("abs-escape", "symlink", "/../../etc/passwd"),
    ("proc-root", "symlink", "/proc/self/root/etc/passwd"),
    ("loop-a", "symlink", "loop-b"),
    ("loop-b", "symlink", "loop-a"),
    ("self", "symlink", "self"),
    ("dangling", "symlink", "/no/such/file"),
    ("empty", "symlink", ""),
    ("dir/sub/up", "symlink", "../../etc/os-release"),
    ("notdir", "file", b"x"),
]


@pytest.fixture(scope="module")
def linked() -> ImageFS:
    return fs_of(LINKS)


@pytest.mark.parametrize(
    ("path", "real"),
    [
        ("/etc/os-release", "/usr/lib/os-release"),
        ("/bin/python3", "/usr/bin/env"),
        ("/bin/pylink", "/usr/bin/env"),
        ("/bin/../lib/os-release", "/usr/lib/os-release"),  # '..' of a symlink's target
        ("/escape", "/etc/passwd"),
        ("/abs-escape", "/etc/passwd"),
        ("/dir/sub/up", "/usr/lib/os-release"),
        ("/../../../usr/bin/env", "/usr/bin/env"),
        ("usr/bin/env", "/usr/bin/env"),
        ("/", "/"),
        ("/usr/bin/", "/usr/bin"),
        ("/proc-root", None),  # /proc/self does not exist in the image
        ("/loop-a", None),
        ("/self", None),
        ("/dangling", None),
        ("/empty", None),
        ("/notdir/x", None),
        ("/missing", None),
    ],
)
def test_realpath_resolves_inside_the_image(linked: ImageFS, path: str, real: str | None) -> None:
    assert linked.realpath(path) == real


def test_escaping_symlinks_read_the_image_never_the_host(linked: ImageFS) -> None:
    assert linked.lookup("/escape") == Entry(FILE, 0o644, 32)
    assert linked.lookup("/proc-root") is None
    assert linked.read("/escape") is None  # /etc/passwd of the image, not kept by its layer
    assert linked.read("/etc/os-release") == b"ID=image\n"
    assert linked.lookup("/escape", follow_symlinks=False) == Entry(
        SYMLINK, 0o777, 0, "../../../../etc/passwd"
    )


def test_symlink_chains_stop_at_the_linux_limit(tmp_path: Path) -> None:
    # l1 -> l2 -> ... -> l41 -> target: 41 links from l1, 40 from l2.
    chain: list[SpecItem] = [("target", "file", b"t")]
    chain += [(f"l{i}", "symlink", f"l{i + 1}" if i <= MAX_SYMLINKS else "target")
              for i in range(1, MAX_SYMLINKS + 2)]  # fmt: skip
    fs = fs_of(chain)
    assert fs.realpath("/l2") == "/target"
    assert fs.realpath("/l1") is None
    # The same chain on this machine's kernel.
    (tmp_path / "target").write_bytes(b"t")
    for name, _, link in chain[1:]:
        (tmp_path / name).symlink_to(str(link))
    assert (tmp_path / "l2").read_bytes() == b"t"
    with pytest.raises(OSError, match="Too many levels of symbolic links"):
        (tmp_path / "l1").read_bytes()


def test_queries(linked: ImageFS) -> None:
    assert linked.is_executable("/bin/python3")
    assert not linked.is_executable("/usr/bin/data")
    assert not linked.is_executable("/usr/bin")
    assert not linked.is_executable("/loop-a")
    assert linked.exists("/bin/env") and not linked.exists("/dangling")
    assert linked.is_dir("/bin") and linked.is_file("/bin/env") and not linked.is_file("/bin")
    assert linked.listdir("/bin") == ["data", "env", "pylink", "python3"]
    assert linked.listdir("/notdir") == [] and linked.listdir("/missing") == []
    assert linked.lookup("/bin", follow_symlinks=False) == Entry(SYMLINK, 0o777, 0, "usr/bin")
    assert linked.layer_of("/bin/env") == linked.layers[0].digest  # parents followed


def test_glob(linked: ImageFS) -> None:
    assert linked.glob("/usr/bin/py*") == ["/usr/bin/pylink", "/usr/bin/python3"]
    assert linked.glob("/bin/p?thon[0-9]") == ["/bin/python3"]
    assert linked.glob("/*/os-release") == ["/etc/os-release"]
    assert linked.glob("/usr/*/env") == ["/usr/bin/env"]
    assert linked.glob("/nothing/*") == []
    assert linked.glob("/etc/passwd") == ["/etc/passwd"]


# -- properties ---------------------------------------------------------------------------

NAMES = st.sampled_from(["a", "b", "c", "..", "."])
TARGETS = st.lists(NAMES, min_size=0, max_size=4).map("/".join)
ITEMS = st.tuples(
    st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3).map("/".join),
    st.sampled_from(["file", "dir", "symlink", "whiteout", "opaque"]),
    st.one_of(TARGETS, TARGETS.map(lambda t: "/" + t)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(ITEMS, max_size=8), min_size=1, max_size=3), st.lists(NAMES, max_size=6))
@pytest.mark.slow
def test_any_tree_resolves_every_path_to_an_existing_canonical_path_or_none(
    layers: list[list[tuple[str, str, str]]], parts: list[str]
) -> None:
    specs = [[(n, k, t if k == "symlink" else b"x") for n, k, t in layer] for layer in layers]
    fs = ImageFS.from_indexes([index_of(spec) for spec in specs])  # type: ignore[arg-type]
    path = "/" + "/".join(parts)
    real = fs.realpath(path)
    if real is not None:
        assert real.startswith("/") and "//" not in real
        assert not {".", ".."} & set(real.split("/"))
        entry = fs.lookup(real, follow_symlinks=False)
        assert entry is not None and entry.kind != SYMLINK
        assert fs.realpath(real) == real
    for found in fs.walk():  # every path listed exists, under a directory
        assert fs.lookup(found, follow_symlinks=False) is not None
        assert fs.lookup(found.rpartition("/")[0] or "/", follow_symlinks=False).kind == DIR


# -- scale --------------------------------------------------------------------------------


@pytest.mark.infra
def test_the_real_debian_rootfs() -> None:
    fs = ImageFS.from_indexes([debian_index()])
    assert fs.realpath("/bin/sh") == "/usr/bin/dash"
    assert fs.is_executable("/bin/sh") and fs.is_executable("/usr/bin/apt-get")
    assert b"VERSION_CODENAME=bookworm" in (fs.read("/etc/os-release") or b"")
    assert fs.realpath("/dev/fd") is None  # -> /proc/self/fd: not in the image
    assert fs.lookup("/dev/null") is not None
    assert fs.layer_of("/usr/bin/dash") == debian_index().digest
