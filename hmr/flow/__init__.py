"""Optical flow and the dynamic feature d_t: flow backends (:mod:`hmr.flow.flow`), the batched
homography DLT (:mod:`hmr.flow.homography`), 135-d stacking (:mod:`hmr.flow.stacking`) and the
per-sequence stage (:mod:`hmr.flow.stage`)."""
