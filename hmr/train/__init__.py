"""Training the regressor: windows and samplers (:mod:`~hmr.train.data`), the loop with
checkpoints and exact resume (:mod:`~hmr.train.loop`), file-level stage entry points
(:mod:`~hmr.train.stage`)."""
