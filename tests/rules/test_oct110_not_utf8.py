"""OCT110 not-utf8: the first byte that is not UTF-8, at its own line and column."""

from rulecheck import dockerfile, where


def test_latin1_byte_is_pointed_at() -> None:
    found = dockerfile('FROM ubuntu:22.04\nLABEL maintainer="José"\n'.encode("latin-1"), "OCT110")
    assert where(found) == [("OCT110", 2, 22, 2)]
    assert "byte 0xe9 at line 2, column 22" in found[0].message


def test_utf8_passes() -> None:
    assert dockerfile('FROM ubuntu:22.04\nLABEL maintainer="José"\n'.encode(), "OCT110") == []
