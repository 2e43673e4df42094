"""BlazePose full (``model_complexity: 1``, in the wheel) against heavy (``2``, ``make
blazepose-heavy``) on synthetic sequences: the 3D world landmarks' PA-MPJPE on 12 limb joints
(shoulders, elbows, wrists, hips, knees, ankles) against the ground-truth SMPL joints, and the
time per frame, on the person crops the keypoints stage uses.

    python benchmarks/blazepose_models.py [--split test] [--complexity 1 2]

Reads ``data/<dataset>/<split>_*.h5`` of a finished DAG (no other stage file). The hip landmarks
and SMPL's hip joints are not the same points; both models are scored the same way.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from hmr.eval.metrics import pa_mpjpe  # noqa: E402
from hmr.io.sequence import read_sequence  # noqa: E402
from hmr.keypoints.mediapipe_backend import MediapipeSettings, detect_mediapipe  # noqa: E402

BLAZEPOSE_LIMBS = [11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28]
SMPL_LIMBS = [16, 17, 18, 19, 20, 21, 1, 2, 4, 5, 7, 8]


def score(path: Path, complexity: int) -> tuple[float, float]:
    """(PA-MPJPE in mm over the frames with a detection, ms per frame) of one sequence."""
    s = read_sequence(path, load_frames=True)
    t0 = time.perf_counter()
    r = detect_mediapipe([s.frames], s.bbox, s.width, s.height, MediapipeSettings(model_complexity=complexity))
    ms = 1000 * (time.perf_counter() - t0) / s.n_frames
    w = r["world_landmarks"]
    found = w[:, :, :3].any((1, 2))
    err = pa_mpjpe(w[found][:, BLAZEPOSE_LIMBS, :3], s.arrays["gt/joints3d"][found][:, SMPL_LIMBS])
    return 1000 * float(err.mean()), ms


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=str(REPO))
    ap.add_argument("--dataset", default="synthetic")
    ap.add_argument("--split", default="test")
    ap.add_argument("--complexity", nargs="+", type=int, default=[1, 2])
    args = ap.parse_args()
    paths = sorted((Path(args.root) / "data" / args.dataset).glob(f"{args.split}_*.h5"))
    if not paths:
        raise SystemExit(f"no {args.split}_*.h5 in {Path(args.root) / 'data' / args.dataset}")
    res = {c: np.array([score(p, c) for p in paths]) for c in args.complexity}
    print("| model_complexity | world-landmark PA-MPJPE (mm) | ms/frame | sequences better than complexity 1 |")
    print("|---:|---:|---:|---:|")
    for c, r in res.items():
        better = int((r[:, 0] < res[1][:, 0]).sum()) if 1 in res and c != 1 else "-"
        print(f"| {c} | {r[:, 0].mean():.1f} | {r[:, 1].mean():.0f} | {better} |")


if __name__ == "__main__":
    main()
