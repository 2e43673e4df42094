"""Evaluation: metrics as pure functions (:mod:`~hmr.eval.metrics`) and per-sequence metric tables
(:mod:`~hmr.eval.evaluate`)."""
