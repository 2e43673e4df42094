"""The paper's ablation variants and the published numbers our tables are placed beside.

All published numbers are on **3DPW** (real videos, the paper's training data); ours come from
whatever dataset the pipeline ran on (by default the synthetic benchmark), so they are shown
side by side for orientation only, never as a comparison on equal data.
"""

from __future__ import annotations

METRICS: tuple[tuple[str, str], ...] = (
    ("pa_mpjpe", "PA-MPJPE"), ("mpjpe", "MPJPE"), ("mpvpe", "MPVPE"), ("accel_err", "Accel"),
)
"""(metrics CSV column, display name); all lower-is-better, millimetres (Accel: mm/frame^2)."""

OUR_METRICS: tuple[tuple[str, str], ...] = METRICS + (("orient_err", "Orient"),)
"""Our tables' columns: the paper's four and the median root-orientation error (degrees)."""

BASELINES: dict[str, str] = {
    "baseline_mean_pose": "Constant mean pose (training split)",
    "baseline_per_frame": "Per-frame f_t only (ridge on f_t)",
}

VARIANTS: tuple[str, ...] = ("full", "no_u", "no_u_unc", "no_d", "no_u_no_d", "no_dynamics",
                             "no_d_no_dynamics", "fc_dynamics")

VARIANT_LABELS: dict[str, str] = {
    "full": "Ours (u_t + d_t, part-based dynamics)",
    "no_u": "w/o u_t",
    "no_u_unc": "w/o u_t input, L_unc kept",
    "no_d": "w/o d_t",
    "no_u_no_d": "w/o both (u_t, d_t)",
    "no_dynamics": "w/o dynamics",
    "no_d_no_dynamics": "w/o d_t, dynamics",
    "fc_dynamics": "FC dynamics (one predictor, not part-based)",
}

# short names for figure legends and row labels
VARIANT_SHORT: dict[str, str] = {
    "full": "full (ours)", "no_u": "w/o u_t", "no_u_unc": "w/o u_t (L_unc kept)", "no_d": "w/o d_t", "no_u_no_d": "w/o u_t, d_t",
    "no_dynamics": "w/o dynamics", "no_d_no_dynamics": "w/o d_t, dynamics",
    "fc_dynamics": "FC dynamics",
}

# The paper's ablation tables: rows in the paper's order (fc_dynamics is our addition to Table 3)
ABLATIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "table2": ("Table 2: temporal encoder (which of u_t / d_t it uses)",
               ("no_u_no_d", "no_u", "no_u_unc", "no_d", "full")),
    "table3": ("Table 3: part-based 3D dynamics",
               ("no_d_no_dynamics", "no_dynamics", "fc_dynamics", "full")),
}

# The paper's Tables 2 and 3 on 3DPW: PA-MPJPE, MPJPE, MPVPE, Accel (no FC-dynamics row there)
PAPER_ABLATION_3DPW: dict[str, tuple[float, float, float, float]] = {
    "no_u_no_d": (56.8, 97.4, 113.7, 9.8),
    "no_u": (56.3, 96.6, 112.6, 7.8),
    "no_d": (53.0, 93.8, 107.2, 9.4),
    "full": (52.2, 92.8, 106.1, 6.8),
    "no_d_no_dynamics": (56.1, 96.3, 112.8, 21.6),
    "no_dynamics": (55.7, 95.8, 111.4, 12.7),
}

# Published 3DPW results (PA-MPJPE, MPJPE, MPVPE, Accel), as each method's paper reports them
PUBLISHED_3DPW: tuple[tuple[str, tuple[float, float, float, float]], ...] = (
    ("VIBE (Kocabas et al. 2020)", (56.5, 93.5, 113.4, 27.1)),
    ("TCMR (Choi et al. 2021; trained with 3DPW)", (52.7, 86.5, 102.9, 6.8)),
    ("MPS-Net (Wei et al. 2022)", (52.1, 84.3, 99.7, 7.4)),
    ("GLoT (Shen et al. 2023)", (50.6, 80.7, 96.3, 6.6)),
    ("Lee & Lee 2021 (the paper)", (52.2, 92.8, 106.1, 6.8)),
)
PUBLISHED_NOTE = ("VIBE's MPJPE is 93.5 in the VIBE paper; the paper's Table 1 lists 95.8. "
                  "All published numbers: 3DPW test set, 14 LSP joints, VIBE/TCMR evaluation code.")
