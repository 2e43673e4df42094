"""Atomic file output: write under a temporary name in the target folder, rename when complete.

Every writer in ``hmr`` goes through :func:`atomic_path`, so a crash or a bad input never leaves a
partial file behind and a previous good file survives a failed rewrite.
"""

from __future__ import annotations

import contextlib
import csv
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ".tmp") -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it is renamed to ``path``.

    The caller writes the temporary path (any library, any format; ``suffix`` keeps an extension
    for writers that infer the format from it). On an exception the temporary file is removed and
    ``path`` is untouched. The final file gets the usual permissions (0666 minus the umask).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.remove(tmp)
        raise


def write_log_rows(rows: list[dict], path: str | os.PathLike, columns: tuple[str, ...]) -> None:
    """A training log as CSV with ``columns`` (floats as %.6g, missing values empty), atomically."""
    with atomic_path(path, suffix=".csv") as tmp, open(tmp, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(columns), extrasaction="ignore")
        w.writeheader()
        for row in rows:
            w.writerow({k: (f"{row[k]:.6g}" if isinstance(row.get(k), float) else row.get(k, ""))
                        for k in columns})
