"""Atomic replacement: a file is whole before or after, never half, and keeps the permissions a file should have."""

import os
from pathlib import Path

import pytest

from index.durable import atomic_write


def test_a_new_file_gets_the_mode_the_umask_allows_not_a_private_one(tmp_path: Path) -> None:
    previous = os.umask(0o027)
    try:
        atomic_write(tmp_path / "eval.json", lambda file: file.write(b"{}"))
    finally:
        os.umask(previous)

    assert (tmp_path / "eval.json").read_bytes() == b"{}"
    assert (tmp_path / "eval.json").stat().st_mode & 0o777 == 0o640


def test_a_replaced_file_keeps_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "shared.json"
    path.write_text("old")
    path.chmod(0o664)

    atomic_write(path, lambda file: file.write(b"new"))

    assert path.read_text() == "new"
    assert path.stat().st_mode & 0o777 == 0o664


def test_a_write_that_fails_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "kept.json"
    path.write_text("old")

    def fail(file) -> None:
        file.write(b"half")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, fail)

    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["kept.json"]
