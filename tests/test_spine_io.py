"""Crash-safe writes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from tailorgen.io import append_jsonl, atomic_write_text, read_jsonl


def test_atomic_write_leaves_old_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    atomic_write_text(target, "old")
    from tailorgen import io

    def write_then_fail() -> None:
        with io.atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError

    with pytest.raises(RuntimeError):
        write_then_fail()
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_torn_last_jsonl_line_is_ignored_and_repaired(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    append_jsonl(path, [{"a": 1}, {"a": 2}])
    with path.open("ab") as fh:
        fh.write(b'{"a": 3')
    assert read_jsonl(path) == [{"a": 1}, {"a": 2}]
    read_jsonl(path, repair=True)
    append_jsonl(path, [{"a": 4}])
    assert [r["a"] for r in read_jsonl(path)] == [1, 2, 4]


def test_atomic_files_get_umask_permissions(tmp_path: Path) -> None:
    from tailorgen import io

    atomic_write_text(tmp_path / "b.txt", "x")
    assert (tmp_path / "b.txt").stat().st_mode & 0o777 == 0o666 & ~io._UMASK
    with io.atomic_path(tmp_path / "c.bin") as tmp:  # a writer that recreates its file privately
        tmp.unlink()
        os.close(os.open(tmp, os.O_CREAT | os.O_WRONLY, 0o600))
    assert (tmp_path / "c.bin").stat().st_mode & 0o777 == 0o666 & ~io._UMASK
