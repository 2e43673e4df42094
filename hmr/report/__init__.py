"""The reproduction report: the paper's ablation tables (Tables 2 and 3) regenerated from the
metrics CSVs, a summary beside the published 3DPW numbers, and the figures (per-frame
acceleration error, per-joint error, meshes over frames beside the ground truth)."""
