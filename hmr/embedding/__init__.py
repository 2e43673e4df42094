"""Pr-VIPE: a probabilistic, view-invariant embedding of 2D poses (paper Sec. 3.2, Eq. 1-4).

A 2D pose (COCO-17, normalised by :mod:`hmr.embedding.normalize`) maps to a Gaussian
N(mu, diag(sigma^2)) in 32 dimensions (:mod:`hmr.embedding.model`); two 2D poses should match when
their 3D poses agree within kappa NP-MPJPE (:mod:`hmr.embedding.npmpjpe`), whatever the camera
(:mod:`hmr.embedding.views`). Losses in :mod:`hmr.embedding.losses`, training data in
:mod:`hmr.embedding.data`, the loop in :mod:`hmr.embedding.train`, cross-view retrieval in
:mod:`hmr.embedding.retrieval`, per-sequence embedding in :mod:`hmr.embedding.embed`, the
file-level entry points of the rules in :mod:`hmr.embedding.stages` (CLI: :mod:`hmr.embedding.commands`).
"""
