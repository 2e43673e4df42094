"""The temporal regressor with part-based 3D dynamics (Sec. 3.2-3.4).

:mod:`~hmr.model.encoder` (GRU temporal feature, [g_t, u_t, d_t]), :mod:`~hmr.model.regressor`
(HMR iterative error feedback), :mod:`~hmr.model.dynamics` (split-and-recombine part-based and FC
dynamics decoders, Eq. 5), :mod:`~hmr.model.losses` (Eq. 6-11), :mod:`~hmr.model.variants`
(the ablations), :mod:`~hmr.model.network` (the whole network), :mod:`~hmr.model.smpl_torch`
(differentiable SMPL), :mod:`~hmr.model.camera` (weak-perspective cameras), :mod:`~hmr.model.predict`.
"""
