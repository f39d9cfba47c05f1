"""The one door for writes, and bounded reads of state files.

Every file PepperPy writes under ``PEPPERPY_HOME``, a mirror or a repository goes
through :func:`atomic_write`; every state file it reads goes through
:func:`read_state` (or :func:`load_json`). Invariants:

- **No write follows a symlink.** The folders between the caller's ``root`` and the
  target are opened one by one with ``O_NOFOLLOW`` (and created, if missing, only
  there); a target that is a link or a folder is refused by name. A planted link can
  make a write fail, never land outside ``root``.
- **Old or new, never a mix.** The bytes go to a temporary file in the target's own
  folder (``O_CREAT | O_EXCL | O_NOFOLLOW``, a random name starting with ``.``), are
  fsynced, ``os.replace``d over the target, and the folder is fsynced (caches, which
  are rebuilt when damaged, skip both fsyncs: ``durable=False``).
- **Nothing created outside ``root``.** ``root`` itself is created if missing (it is
  the operator's choice of folder: a link *to* it is fine); nothing above it is.
- **A bundle received by name** (:func:`unnamed_file`, :func:`link_unnamed`) is the
  same write in two steps: the bytes go to a file with no name in the target's folder
  (``O_TMPFILE``: nobody else can open it, a crash leaves nothing), and once the caller
  has checked and fsynced them, that file is linked under a temporary name and renamed
  over the target, with the same folder walk and target check.
- **Errors name the target**, never the temporary file: a full disk is
  ``StateError("cannot write …/trust.json: No space left on device …")``.
- **Reads are bounded.** :func:`read_state` refuses, before reading, anything that is
  not a regular file (a folder, a device such as ``/dev/zero``, a FIFO, a dangling
  link) or is larger than the caller's limit, then reads at most ``limit + 1`` bytes.
  :func:`load_json` checks the nesting depth in linear time before ``json.loads``
  sees the text, so no state file can cost more than a few MB or a recursion error.
  An empty file is damage, never "nothing recorded": only a *missing* file is.

``PEPPERPY_CRASH_AT=N`` makes the process kill itself with SIGKILL at the N-th write
point (each step of each write: temp file created, bytes written, renamed, a folder
created or a file removed; half of a bundle received by name);
``PEPPERPY_CRASH_LOG=FILE`` appends each point's label to FILE. The crash tests use
them to interrupt install, update, ``index add``, ``repo add`` and ``trust`` at every
step; unset, they cost one dictionary lookup.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from pepperpy import _jsonio as json  # json.loads/dumps without importing json
from pepperpy.core import StateError

__all__ = [
    "TEMP_SUFFIX",
    "atomic_write",
    "crash_point",
    "ensure_folder",
    "file_lock",
    "is_temp_name",
    "link_unnamed",
    "load_json",
    "parse_json",
    "read_state",
    "refuse_deep",
    "remove_file",
    "remove_lock",
    "state_error",
    "temp_files",
    "unnamed_file",
    "write_cache",
    "write_error",
]

TEMP_SUFFIX = ".tmp"
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC
_READ_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC
_points = 0


def crash_point(label: str) -> None:
    """A write point: logged and, if it is the chosen one, the process dies here."""
    env = os.environ
    if "PEPPERPY_CRASH_AT" not in env and "PEPPERPY_CRASH_LOG" not in env:
        return
    global _points
    _points += 1
    log = env.get("PEPPERPY_CRASH_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(f"{_points} {label}\n")
    if env.get("PEPPERPY_CRASH_AT") == str(_points):
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


def is_temp_name(name: str) -> bool:
    """Whether ``name`` is a temporary file :func:`atomic_write` creates."""
    return name.startswith(".") and name.endswith(TEMP_SUFFIX)


def state_error(path: Path | str, problem: str, fix: str) -> StateError:
    return StateError(f"{path} {problem}; {fix}", path=str(path))


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISLNK, "a symbolic link")):
        if test(mode):
            return name
    return "not a plain file"


# -- writing ---------------------------------------------------------------------


def atomic_write(path: Path, data: bytes, *, mode: int = 0o644, root: Path | None = None,
                 folder_mode: int = 0o755, staging: Path | None = None,
                 durable: bool = True) -> None:
    """Replace ``path`` with ``data``: readers see the old or the new file, never a mix.

    ``root`` (default: the target's folder) is the folder the write is confined to:
    missing folders between it and the target are created, none of them is followed if
    it is a link, and nothing above it is created except ``root`` itself. ``staging``
    (a folder under ``root``, same file system) holds the temporary file instead of the
    target's folder: for folders a server may publish at any moment. ``durable=False``
    (caches only, which a reader rebuilds when damaged or missing) skips the two fsyncs:
    still old or new for every reader, but a power cut may lose the write.
    """
    path = Path(path)
    try:
        with contextlib.ExitStack() as stack:
            folder = stack.enter_context(_open_folder(path.parent, root, folder_mode))
            temp_folder = folder if staging is None else stack.enter_context(
                _open_folder(Path(staging), root, 0o700))
            _replace_in(folder, temp_folder, path, data, mode, durable)
    except StateError:
        raise
    except OSError as exc:
        raise write_error(path, exc) from exc


def ensure_folder(folder: Path, *, root: Path, mode: int = 0o755) -> Path:
    """Create ``folder`` (and those between it and ``root``) as :func:`atomic_write`
    would: no link followed below ``root``, nothing created outside it."""
    try:
        with _open_folder(Path(folder), Path(root), mode):
            return Path(folder)
    except StateError:
        raise
    except OSError as exc:
        raise write_error(Path(folder), exc) from exc


def write_error(path: Path, exc: OSError) -> StateError:
    why = exc.strerror or str(exc)
    fix = {errno.ENOSPC: "free some space and run the command again",
           errno.EDQUOT: "free some space and run the command again",
           errno.EFBIG: "the file system refused a file this large; free space or raise "
                        "the limit, then run the command again",
           errno.EROFS: "the folder is read-only; use a writable PEPPERPY_HOME",
           errno.EACCES: "check the folder's permissions",
           errno.EPERM: "check the folder's permissions"}.get(
        exc.errno or 0, "check the folder, then run the command again")
    return state_error(path, f"could not be written ({why}): nothing was changed", fix)


@contextlib.contextmanager
def _open_folder(folder: Path, root: Path | None, folder_mode: int) -> Iterator[int]:
    """A descriptor on ``folder``, reached from ``root`` without following links."""
    base = folder if root is None else Path(root)
    try:
        parts = folder.relative_to(base).parts
    except ValueError:
        raise StateError(f"{folder} is outside {base}; PepperPy writes nothing there",
                         path=str(folder)) from None
    if not base.is_dir():
        crash_point(f"mkdir {base}")
        base.mkdir(parents=True, exist_ok=True, mode=0o700 if root is not None else 0o755)
    fd = os.open(base, _DIR_FLAGS)
    here = base
    for part in parts:
        here = here / part
        fd = _step_into(fd, part, here, folder_mode)  # closes the folder it leaves
    try:
        yield fd
    finally:
        os.close(fd)


def _step_into(fd: int, part: str, here: Path, folder_mode: int) -> int:
    """Open ``part`` inside the folder ``fd`` (created if missing), never through a link;
    closes ``fd``."""
    try:
        for attempt in (0, 1):
            try:
                return os.open(part, _DIR_FLAGS | os.O_NOFOLLOW, dir_fd=fd)
            except FileNotFoundError:
                if attempt:
                    raise
                crash_point(f"mkdir {here}")
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, folder_mode, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    st = os.stat(part, dir_fd=fd, follow_symlinks=False)
                    raise state_error(here, f"is {_kind(st.st_mode)}, not a folder",
                                      "PepperPy does not write through links: remove it "
                                      "and run the command again") from None
                raise
        raise AssertionError("unreachable")
    finally:
        os.close(fd)


def _check_target(folder: int, path: Path) -> str:
    """``path``'s name in ``folder``, once it is known not to be a link or a folder."""
    name = path.name
    try:
        st = os.stat(name, dir_fd=folder, follow_symlinks=False)
    except FileNotFoundError:
        return name
    if not stat.S_ISREG(st.st_mode):
        raise state_error(path, f"is {_kind(st.st_mode)}, not a file",
                          "PepperPy does not write through links or over folders: "
                          "remove it and run the command again")
    return name


def _temp_name(name: str) -> str:
    return f".{name[:80]}.{os.urandom(6).hex()}{TEMP_SUFFIX}"


def _replace_in(folder: int, temp_folder: int, path: Path, data: bytes, mode: int,
                durable: bool) -> None:
    name = _check_target(folder, path)
    tmp = _temp_name(name)
    crash_point(f"create {path}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                 0o600, dir_fd=temp_folder)
    with _into_place(path, tmp, name, temp_folder, folder, durable):
        try:
            view = memoryview(data)
            half = len(view) // 2
            _write_all(fd, view[:half])
            crash_point(f"write {path}")
            _write_all(fd, view[half:])
            os.fchmod(fd, mode)
            if durable:
                os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def _into_place(path: Path, tmp: str, name: str, temp_folder: int, folder: int,
                durable: bool) -> Iterator[None]:
    """Once the body has made ``tmp`` (in ``temp_folder``) whole, rename it over ``name``
    (in ``folder``) and fsync ``folder`` if ``durable``; if the body or the rename fails,
    remove ``tmp``: a failed write leaves no temporary name behind."""
    try:
        yield
        crash_point(f"replace {path}")
        os.replace(tmp, name, src_dir_fd=temp_folder, dst_dir_fd=folder)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=temp_folder)
        raise
    if durable:
        with contextlib.suppress(OSError):  # some file systems refuse a folder fsync
            os.fsync(folder)


_WRITE_PIECE = 1 << 20


def _write_all(fd: int, view: memoryview) -> None:
    """Write ``view`` in pieces of at most 1 MiB: on Linux 6.x a single large write into
    new page cache can cost ten times the CPU of the same bytes in 1 MiB writes (the
    kernel allocates large folios for it), 130 ms instead of 12 ms for 50 MB here."""
    while view:
        view = view[os.write(fd, view[:_WRITE_PIECE]):]


_PROC_FD = "/proc/self/fd/"


def unnamed_file(folder: Path, *, root: Path) -> int | None:
    """A new read-write file in ``folder`` that has no name (``O_TMPFILE``, mode 0600),
    reached from ``root`` as :func:`atomic_write` reaches a folder: no other process can
    open it, and a crash leaves nothing behind. :func:`link_unnamed` names it. ``None``
    where the system cannot (no ``O_TMPFILE`` or no ``/proc/self/fd`` to link it from)."""
    flag = getattr(os, "O_TMPFILE", 0)
    if not flag or not os.path.isdir(_PROC_FD):
        return None
    try:
        with _open_folder(Path(folder), Path(root), 0o755) as dir_fd:
            return os.open(".", flag | os.O_RDWR | os.O_CLOEXEC, 0o600, dir_fd=dir_fd)
    except StateError:
        raise
    except OSError as exc:
        if exc.errno in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
            return None  # a file system without unnamed files
        raise write_error(Path(folder), exc) from exc


def link_unnamed(fd: int, path: Path, *, root: Path, mode: int = 0o644) -> None:
    """Name the :func:`unnamed_file` ``fd`` ``path``, replacing it atomically, as
    :func:`atomic_write` replaces a file: linked under a temporary name in the same
    folder, renamed over ``path``, the folder fsynced. The caller has written and
    fsynced the file; nothing else could open it, so what it checked is what lands."""
    path = Path(path)
    try:
        os.fchmod(fd, mode)
        with _open_folder(path.parent, Path(root), 0o755) as folder:
            name = _check_target(folder, path)
            tmp = _temp_name(name)
            crash_point(f"create {path}")
            os.link(f"{_PROC_FD}{fd}", tmp, dst_dir_fd=folder, follow_symlinks=True)
            with _into_place(path, tmp, name, folder, folder, durable=True):
                pass
    except StateError:
        raise
    except OSError as exc:
        raise write_error(path, exc) from exc


def temp_files(folder: Path, target: str | None = None) -> list[Path]:
    """Temporary files :func:`atomic_write` left in ``folder`` (for ``target`` only, if
    given). Only the holder of the lock that guards those writes may remove them."""
    prefix = "." if target is None else f".{target[:80]}."
    try:
        names = [e.name for e in os.scandir(folder)
                 if e.name.startswith(prefix) and is_temp_name(e.name)]
    except OSError:
        return []
    if target is None:  # one of another target's: ``.a.json.<hex>.tmp`` is not ``.a.<hex>.tmp``
        return [folder / n for n in sorted(names)]
    return [folder / n for n in sorted(names) if re.fullmatch(_TEMP, n[len(prefix):])]


_TEMP = r"[0-9a-f]{12}" + re.escape(TEMP_SUFFIX)  # compiled on first use (only writers)


def remove_file(path: Path) -> bool:
    """Remove ``path`` (never a folder; a link is removed, not followed); False if it
    was not there."""
    crash_point(f"remove {path}")
    try:
        os.unlink(path)
    except FileNotFoundError:
        return False
    return True


def write_cache(path: Path, data: bytes, *, mode: int = 0o600) -> bool:
    """Best-effort write of a cache anyone may rebuild (a read-only home skips it):
    under the file's own lock, after removing what a crashed write of it left; atomic,
    not fsynced (a cache lost to a power cut is rebuilt)."""
    try:
        with file_lock(path.with_name(path.name + ".lock")):
            for leftover in temp_files(path.parent, path.name):
                remove_file(leftover)
            atomic_write(path, data, mode=mode, durable=False)
    except (OSError, StateError):
        return False
    return True


# -- locking ---------------------------------------------------------------------


@contextlib.contextmanager
def file_lock(path: Path, *, shared: bool = False) -> Iterator[None]:
    """Hold an exclusive (or shared) ``flock`` on ``path`` (created if missing, never
    through a link). Advisory, per open file description: works across processes and
    is released by the kernel if the holder dies. A lock file its holder removed
    (:func:`remove_lock`) is not the lock any more: a waiter that gets it locks the file
    now at ``path`` instead."""
    import fcntl

    while True:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        except FileNotFoundError:  # its folder was removed with the lock: again
            continue
        except OSError as exc:
            raise state_error(path, f"(a lock file) cannot be opened ({exc.strerror})",
                              "it must be a plain file in a writable folder: remove it if "
                              "it is a link, or use a writable PEPPERPY_HOME") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
            if _same_file(fd, path):
                break
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)  # removed by its holder while this process waited
    try:
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _same_file(fd: int, path: Path) -> bool:
    try:
        st = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (held.st_dev, held.st_ino)


def remove_lock(path: Path, *, folders: Sequence[Path] = ()) -> None:
    """Remove lock file ``path`` (the caller holds it exclusively), then each of
    ``folders`` (deepest first) that is empty: what a command created only to take the
    lock. Waiters lock the next file at ``path`` (:func:`file_lock`)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    for folder in folders:
        try:
            os.rmdir(folder)
        except FileNotFoundError:
            continue
        except OSError:  # not empty (another command is using it): it stays
            return


# -- reading ---------------------------------------------------------------------


def read_state(path: Path, *, what: str, limit: int, fix: str) -> bytes | None:
    """The bytes of state file ``path`` (``None`` if it does not exist), bounded.

    ``what`` names the file for the error ("trust store"), ``fix`` says what to do.
    A link is followed (a configuration manager may place one), but a dangling one, a
    folder, a device, a FIFO or a file over ``limit`` bytes is refused by name.
    """
    path = Path(path)
    try:
        fd = os.open(path, _READ_FLAGS)
    except FileNotFoundError:
        if os.path.islink(path):
            raise state_error(path, f"(the {what}) is a link to a missing file", fix) from None
        return None
    except OSError as exc:
        raise state_error(path, f"(the {what}) cannot be read ({exc.strerror})", fix) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise state_error(path, f"(the {what}) is {_kind(st.st_mode)}, not a file", fix)
        if st.st_size > limit:
            raise state_error(path, f"(the {what}) is {st.st_size} bytes, more than the "
                                    f"{limit} it may hold", fix)
        chunks, size = [], 0
        while size <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise state_error(path, f"(the {what}) cannot be read ({exc.strerror})", fix) from None
    finally:
        os.close(fd)
    if size > limit:
        raise state_error(path, f"(the {what}) is more than the {limit} bytes it may hold", fix)
    return b"".join(chunks)


def load_json(path: Path, *, what: str, fix: str, limit: int = 4 << 20,
              depth: int = 32) -> Any:
    """The JSON value of state file ``path`` (``None`` if it does not exist).

    Empty, truncated, garbled, too deep or too large: a ``StateError`` naming the file.
    """
    raw = read_state(path, what=what, limit=limit, fix=fix)
    if raw is None:
        return None
    return parse_json(raw, path=path, what=what, fix=fix, depth=depth)


def parse_json(raw: bytes, *, path: Path | str, what: str, fix: str, depth: int = 32) -> Any:
    """Bounded JSON parse of a state file's bytes (see :func:`load_json`)."""
    if not raw.strip():
        raise state_error(path, f"(the {what}) is empty (damaged: PepperPy never writes an "
                                "empty one)", fix)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise state_error(path, f"(the {what}) is not UTF-8 text (damaged)", fix) from None
    _refuse_deep_text(text, path=path, what=what, fix=fix, depth=depth)
    try:
        return json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        why = str(exc).split(":")[0][:80]
        raise state_error(path, f"(the {what}) is not valid JSON ({why}: damaged or "
                                "truncated)", fix) from None


def refuse_deep(raw: bytes, *, path: Path | str, what: str, fix: str, depth: int = 32) -> None:
    """Refuse JSON bytes nested deeper than ``depth`` before any parser sees them."""
    _refuse_deep_text(raw.decode("utf-8", "replace"), path=path, what=what, fix=fix,
                      depth=depth)


def _refuse_deep_text(text: str, *, path: Path | str, what: str, fix: str, depth: int) -> None:
    if _too_deep(text, depth):
        raise state_error(path, f"(the {what}) nests deeper than {depth} levels (damaged)",
                          fix)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_KEEP_BRACKETS = bytes.maketrans(b"[{]}", b"\x01\x01\xff\xff")
_OTHERS = bytes(b for b in range(256) if b not in b"[{]}")


def _too_deep(text: str, limit: int) -> bool:
    """Whether brackets outside strings nest deeper than ``limit``, in linear time and
    at C speed: strings are cut out by splitting on quotes (escaped backslashes and
    quotes are dropped first), each bracket becomes +1 or -1, and the running sum is
    compared with the limit."""
    from itertools import accumulate

    if text.count("[") + text.count("{") <= limit:
        return False
    unescaped = text.replace("\\\\", "").replace('\\"', "")
    outside = "".join(unescaped.split('"')[::2]).encode("utf-8", "replace")
    steps = memoryview(outside.translate(_KEEP_BRACKETS, _OTHERS)).cast("b")  # +1 / -1
    return max(accumulate(steps), default=0) > limit
