"""Benchmark of the regressor stage: training steps/s, prediction frames/s, peak training memory.

Data are fabricated in memory at the default config's size (16 training sequences x 96 frames,
16-frame windows): random features of size D, random u_t / d_t, and ground truth with every term
present, so every loss of a variant runs. Content does not change the timing.

* **Training**: optimisation steps per second (and frames per second = steps/s x batch x window)
  of :func:`hmr.train.loop.train_step`, after warm-up steps; each configuration runs in a fresh
  process, whose peak resident memory (``ru_maxrss``) is reported (on CUDA also the peak
  allocated GPU memory).
* **Prediction**: frames per second of :func:`hmr.model.predict.predict_sequence` (stride-1 windows)
  on a 96-frame sequence, without and with the mesh.

The embedder is a randomly initialised Pr-VIPE network of the config's ``embedding.model`` width
(1024 when the config has no embedding section). ``--paper`` switches to the paper-sized setting
(GRU 1024, regressor and dynamics 1024, batch 32, D 2048).

Usage: ``python benchmarks/bench_regressor.py [--config config.yaml] [--body-model PATH]
[--dims 512 2048] [--variants full no_u_no_d] [--steps 20] [--device auto] [--paper]``.
"""

from __future__ import annotations

import argparse
import copy
import multiprocessing as mp
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PAPER_MODEL = {"gru_hidden": 1024, "regressor_hidden": 1024, "dynamics_hidden": 1024}


def fabricate(n_seq: int, T: int, D: int, seed: int = 0):
    from hmr.train.data import SequenceArrays

    rng = np.random.default_rng(seed)
    f32 = lambda *s: rng.normal(size=s).astype(np.float32)  # noqa: E731
    seqs = []
    for i in range(n_seq):
        seqs.append(SequenceArrays(
            name=f"s{i}", features=np.abs(f32(T, D)), bbox=np.tile([[160, 120, 60, 150]], (T, 1)).astype(np.float32),
            mu=f32(T, 32), sigma=np.abs(f32(T, 32)) + 0.2, d=f32(T, 135),
            kp2d=0.5 * f32(T, 45, 2), kp2d_w=np.ones((T, 45), np.float32), j3d=0.3 * f32(T, 24, 3),
            has_j3d=np.ones(T, bool), pose=0.3 * f32(T, 72), betas=f32(T, 10), has_smpl=np.ones(T, bool)))
    return seqs


def _embedder(cfg: dict, device):
    import torch

    from hmr.embedding.model import PoseEmbedder

    m = cfg.get("embedding", {}).get("model", {})
    torch.manual_seed(0)
    return PoseEmbedder(dim=32, width=int(m.get("width", 1024)), n_blocks=int(m.get("n_blocks", 2)),
                        dropout=0.0).eval().requires_grad_(False).to(device)


def train_worker(args: dict, q) -> None:
    import torch

    from hmr.body.smpl import smpl_layer
    from hmr.model.smpl_torch import BodyModel
    from hmr.train.data import BatchSampler, InMemoryWindows
    from hmr.train.loop import Amp, build_model, pick_device, to_tensors, train_step

    torch.set_num_threads(args["threads"])
    device = pick_device(args["device"])
    cfg = args["cfg"]
    rc = cfg["regressor"]
    windows = InMemoryWindows(fabricate(16, 96, args["D"]), int(rc["window"]))
    body = BodyModel(smpl_layer(args["body_model"])).to(device)
    model = build_model(args["variant"], args["D"], rc["model"], 0, windows.input_stats()).to(device)
    emb = _embedder(cfg, device) if model.variant.unc_loss else None
    opt = torch.optim.Adam(model.parameters(), lr=float(rc["train"]["lr"]))
    amp = Amp.for_device(device, bool(rc["train"].get("amp", True)))
    bs = int(rc["train"]["batch_size"])
    sampler = BatchSampler(len(windows), bs, 0)

    def step(k):
        b = to_tensors(windows.batch(sampler.indices(k)), device)
        return train_step(model, body, b, opt, rc["loss"], int(rc["dt"]), emb, amp)

    for k in range(args["warmup"]):
        step(k)
    if device.type == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for k in range(args["steps"]):
        step(args["warmup"] + k)
    if device.type == "cuda":
        torch.cuda.synchronize()
    dt = time.perf_counter() - t0
    out = {"steps_per_s": args["steps"] / dt, "frames_per_s": args["steps"] * bs * int(rc["window"]) / dt,
           "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
           "params_m": sum(p.numel() for p in model.parameters()) / 1e6, "device": str(device)}
    if device.type == "cuda":
        out["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
    q.put(out)


def bench_predict(cfg: dict, body_model: str, D: int, variant: str, device_name: str, threads: int) -> dict:
    import torch

    from hmr.body.smpl import smpl_layer
    from hmr.model.predict import predict_sequence
    from hmr.model.smpl_torch import BodyModel
    from hmr.train.loop import build_model, pick_device

    torch.set_num_threads(threads)
    device = pick_device(device_name)
    rc = cfg["regressor"]
    seq = fabricate(1, 96, D, seed=1)[0]
    body = BodyModel(smpl_layer(body_model))
    model = build_model(variant, D, rc["model"], 0).eval()
    res = {}
    for verts in (False, True):
        predict_sequence(model, body, seq, int(rc["window"]), with_vertices=verts, device=device)
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        n = 3
        for _ in range(n):
            predict_sequence(model, body, seq, int(rc["window"]), with_vertices=verts, device=device)
        if device.type == "cuda":
            torch.cuda.synchronize()
        res["with_mesh" if verts else "joints"] = n * seq.n_frames / (time.perf_counter() - t0)
    return res


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--config", default=str(REPO / "config.yaml"))
    p.add_argument("--body-model", default=str(REPO / "results/body_model/anny_smpl.pkl"))
    p.add_argument("--dims", type=int, nargs="+", default=[512, 2048])
    p.add_argument("--variants", nargs="+", default=["full", "no_u_no_d", "no_dynamics", "fc_dynamics"])
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="auto")
    p.add_argument("--paper", action="store_true", help="paper-sized model and batch")
    args = p.parse_args()

    cfg = yaml.safe_load(open(args.config))
    if args.paper:
        cfg = copy.deepcopy(cfg)
        cfg["regressor"]["model"].update(PAPER_MODEL)
        cfg["regressor"]["train"]["batch_size"] = 32
    body_model = args.body_model
    if not Path(body_model).exists():
        from hmr.body.anny_convert import build_smpl_from_anny, write_smpl_pickle

        body_model = str(Path(tempfile.mkdtemp()) / "anny_smpl.pkl")
        print(f"building a small embedded body model at {body_model} ...", flush=True)
        write_smpl_pickle(build_smpl_from_anny(n_shape_samples=40, seed=0), body_model)

    rc = cfg["regressor"]
    print(f"model {rc['model']}, batch {rc['train']['batch_size']} x window {rc['window']}, "
          f"{args.threads} thread(s)\n")
    print("| D | variant | device | params (M) | steps/s | train frames/s | peak RSS (MB) | peak GPU (MB) |")
    print("|---|---|---|---|---|---|---|---|")
    ctx = mp.get_context("spawn")
    for D in args.dims:
        for variant in args.variants:
            q = ctx.Queue()
            w = {"cfg": cfg, "D": D, "variant": variant, "device": args.device, "threads": args.threads,
                 "steps": args.steps, "warmup": args.warmup, "body_model": body_model}
            proc = ctx.Process(target=train_worker, args=(w, q))
            proc.start()
            r = q.get()
            proc.join()
            gpu = f"{r['peak_gpu_mb']:.0f}" if "peak_gpu_mb" in r else "-"
            print(f"| {D} | {variant} | {r['device']} | {r['params_m']:.2f} | {r['steps_per_s']:.2f} | "
                  f"{r['frames_per_s']:.0f} | {r['peak_rss_mb']:.0f} | {gpu} |", flush=True)
    print("\n| D | prediction device | frames/s (joints) | frames/s (with mesh) |")
    print("|---|---|---|---|")
    for D in args.dims:
        r = bench_predict(cfg, body_model, D, "full", args.device, args.threads)
        print(f"| {D} | {args.device} | {r['joints']:.0f} | {r['with_mesh']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
