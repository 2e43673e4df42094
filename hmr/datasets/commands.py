"""CLI subcommands of the dataset importers (``python -m hmr import-dataset`` / ``dataset-sequences``)."""

from __future__ import annotations

import argparse
import json
import logging
from collections.abc import Callable

log = logging.getLogger("hmr")


def cmd_import_dataset(args: argparse.Namespace) -> None:
    from hmr.datasets import import_sequence
    from hmr.datasets.common import SeqSource

    cfg = json.loads(args.params)
    source = SeqSource.from_json(args.source) if args.source else None
    import_sequence(cfg, dataset=args.dataset, seq=args.seq, out=args.out, source=source,
                    cache_dir=args.cache_dir)


def cmd_dataset_sequences(args: argparse.Namespace) -> None:
    from hmr.datasets import scan_dataset

    for s in scan_dataset(json.loads(args.params), cache_dir=args.cache_dir):
        print(f"{s.name}\t{s.split}")


def register(add: Callable[..., argparse.ArgumentParser]) -> None:
    sp = add("import-dataset", cmd_import_dataset,
             "import one sequence of a real dataset (3DPW, Human3.6M, ...) from its official layout")
    sp.add_argument("--dataset", required=True, help="dataset name in the config")
    sp.add_argument("--seq", required=True, help="sequence name (see dataset-sequences)")
    sp.add_argument("--params", required=True, help="the dataset's config section as JSON")
    sp.add_argument("--source", default=None, help="the sequence's scan entry as JSON (skips the scan)")
    sp.add_argument("--cache-dir", default=None, help="folder caching the scan of big annotation files")
    sp.add_argument("--out", required=True)

    sp = add("dataset-sequences", cmd_dataset_sequences, "list the sequences (and splits) a dataset folder holds")
    sp.add_argument("--params", required=True, help="the dataset's config section as JSON")
    sp.add_argument("--cache-dir", default=None)
