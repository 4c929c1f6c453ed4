"""write_atomically and trouble: whole files or none, their mode kept, failures in plain words."""

from __future__ import annotations

import errno
import stat
import sys
from pathlib import Path

import pytest

from aggregates_course.course.files import trouble, write_atomically
from tests.cli_state_support import needs_posix_modes


def test_the_new_content_replaces_the_old_and_nothing_else_is_left(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    target.write_text("old")
    write_atomically(target, b"new")
    assert target.read_bytes() == b"new"
    assert [path.name for path in tmp_path.iterdir()] == ["state.json"]


def test_a_failed_write_keeps_the_old_file_and_removes_its_temporary(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    target.write_text("old")
    with pytest.raises(TypeError):
        write_atomically(target, "not bytes")  # type: ignore[arg-type]
    assert target.read_text() == "old"
    assert [path.name for path in tmp_path.iterdir()] == ["state.json"]


def test_missing_folders_are_created(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "policy.py"
    write_atomically(target, b"x = 1\n")
    assert target.read_bytes() == b"x = 1\n"


def test_a_replaced_file_keeps_its_mode(tmp_path: Path) -> None:
    needs_posix_modes()
    target = tmp_path / "policy.py"
    target.write_text("old")
    target.chmod(0o750)
    write_atomically(target, b"new")
    assert stat.S_IMODE(target.stat().st_mode) == 0o750


def test_a_new_file_gets_the_mode_any_new_file_gets(tmp_path: Path) -> None:
    needs_posix_modes()
    write_atomically(tmp_path / "new.py", b"x")
    (tmp_path / "plain.py").write_bytes(b"x")
    modes = {stat.S_IMODE((tmp_path / name).stat().st_mode) for name in ("new.py", "plain.py")}
    assert len(modes) == 1


@pytest.mark.skipif(
    sys.platform == "win32", reason="Windows reports a folder in the way as access denied"
)
def test_a_folder_in_the_way_is_refused_and_left_alone(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    target.mkdir()
    with pytest.raises(IsADirectoryError) as refused:
        write_atomically(target, b"{}")
    assert target.is_dir()
    assert [path.name for path in tmp_path.iterdir()] == ["state.json"]
    assert str(trouble(refused.value, target)) == (
        f"{target} is a folder where a file belongs; move that folder away"
    )


def test_a_file_where_a_folder_belongs_is_named(tmp_path: Path) -> None:
    blocker = tmp_path / ".aggregates-course"
    blocker.write_text("")
    target = blocker / "backups" / "policy.py"
    with pytest.raises(NotADirectoryError) as refused:
        write_atomically(target, b"x")
    assert str(trouble(refused.value, target)) == (
        f"{blocker} is a file where a folder belongs; rename or remove that file"
    )


@pytest.mark.parametrize(
    ("error", "says"),
    [
        (PermissionError(errno.EACCES, "Permission denied"), "permission denied for {path}"),
        (OSError(errno.EROFS, "Read-only file system"), "{path} is on a read-only file system"),
        (OSError(errno.ENOSPC, "No space left"), "no space left on the disk holding {path}"),
        (OSError(errno.EIO, "Input/output error"), "{path}: Input/output error"),
    ],
    ids=["permission", "read-only", "disk full", "anything else"],
)
def test_every_file_system_failure_names_the_path_and_a_fix(
    tmp_path: Path, error: OSError, says: str
) -> None:
    path = tmp_path / "state.json"
    problem = trouble(error, path)
    assert problem.what == says.format(path=path)
    assert problem.fix
    assert "\n" not in str(problem)


def test_without_a_path_the_errors_own_file_name_is_used(tmp_path: Path) -> None:
    error = PermissionError(errno.EACCES, "Permission denied", str(tmp_path / "x"))
    assert trouble(error).what == f"permission denied for {tmp_path / 'x'}"
