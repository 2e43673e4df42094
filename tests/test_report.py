"""The report: ablation tables and summary from metrics CSVs, and the figures."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from hmr.errors import InputError
from hmr.report.paper import ABLATIONS, METRICS, VARIANTS

# fabricated means (pa_mpjpe, mpjpe, mpvpe, accel_err) per variant, with known best values:
# Table 2: full best everywhere except accel, where no_u wins; Table 3: fc_dynamics ties full on
# PA-MPJPE at one decimal (50.04 vs 49.96 -> 50.0 both).
MEANS = {
    "full": (49.96, 90.123, 100.5, 8.25),
    "no_u": (52.3, 93.0, 104.4, 7.901),
    "no_u_unc": (51.5, 92.8, 104.0, 8.5),
    "no_d": (51.0, 92.5, 103.0, 9.9),
    "no_u_no_d": (56.8, 97.4, 113.7, 9.8),
    "no_dynamics": (55.7, 95.8, 111.4, 12.7),
    "no_d_no_dynamics": (56.1, 96.3, 112.8, 21.6),
    "fc_dynamics": (50.04, 94.0, 108.0, 9.0),
}


def _write_metrics(folder, means=MEANS, n_seq: int = 2):
    folder.mkdir(parents=True, exist_ok=True)
    files = {}
    rng = np.random.default_rng(0)
    for v, m in means.items():
        rows = [{"seq": f"test_{i:03d}", "n_frames": 12, "mpjpe": m[1] + rng.normal(),
                 "pa_mpjpe": m[0] + rng.normal(), "mpvpe": m[2] + rng.normal(), "accel_err": m[3]}
                for i in range(n_seq)]
        rows.append({"seq": "mean", "n_frames": 12 * n_seq, "mpjpe": m[1], "pa_mpjpe": m[0],
                     "mpvpe": m[2], "accel_err": m[3]})
        path = folder / f"{v}.csv"
        pd.DataFrame(rows).to_csv(path, index=False, float_format="%.3f")
        files[v] = path
    return files


def test_ablation_tables_hold_every_variant_with_the_csv_numbers_and_the_best_marked(tmp_path):
    from hmr.report.tables import write_ablation

    files = _write_metrics(tmp_path / "metrics")
    md, csv = tmp_path / "ablation_synthetic.md", tmp_path / "ablation_synthetic.csv"
    write_ablation(files, "synthetic", md, csv)
    table = pd.read_csv(csv)
    # every variant of each paper table, in the paper's order
    for key, (_, variants) in ABLATIONS.items():
        assert table[table.table == key].variant.tolist() == list(variants)
    assert set(table.variant) == set(VARIANTS)
    # numbers equal the metrics CSVs' mean rows
    for r in table.itertuples():
        mean = pd.read_csv(files[r.variant]).iloc[-1]
        for m, _ in METRICS:
            assert getattr(r, m) == pytest.approx(float(mean[m]), abs=1e-9)
        assert r.n_sequences == 2 and r.n_frames == 24
    best = {(r.table, r.variant, m) for r in table.itertuples() for m, _ in METRICS if getattr(r, f"best_{m}")}
    expected = {("table2", "full", "pa_mpjpe"), ("table2", "full", "mpjpe"), ("table2", "full", "mpvpe"),
                ("table2", "no_u", "accel_err"),
                ("table3", "full", "pa_mpjpe"), ("table3", "fc_dynamics", "pa_mpjpe"),   # a tie at 50.0
                ("table3", "full", "mpjpe"), ("table3", "full", "mpvpe"), ("table3", "full", "accel_err")}
    assert best == expected
    # the Markdown shows the same numbers at one decimal, bold exactly where flagged
    text = md.read_text()
    assert "commit" in text and "generated" in text
    for r in table.itertuples():
        line = next(ln for ln in text.splitlines() if f"(`{r.variant}`)" in ln
                    and ln in text.split(f"## {ABLATIONS[r.table][0]}")[1].split("##")[0])
        cells = [c.strip() for c in line.strip("|").split("|")]
        for (m, _), cell in zip(METRICS, cells[1:5]):
            bold = cell.startswith("**")
            assert float(cell.strip("*")) == round(getattr(r, m), 1)
            assert bold == getattr(r, f"best_{m}")


def test_summary_places_our_rows_beside_the_paper_as_different_data(tmp_path):
    from hmr.report.tables import write_ablation, write_summary

    csvs = {}
    for d in ("synthetic", "other"):
        files = _write_metrics(tmp_path / d)
        csvs[d] = tmp_path / f"ablation_{d}.csv"
        write_ablation(files, d, tmp_path / f"ablation_{d}.md", csvs[d])
    text = write_summary(csvs, tmp_path / "summary.md")
    assert (tmp_path / "summary.md").read_text() == text
    assert "**Different data.**" in text and "3DPW" in text
    for d in csvs:
        for title, variants in ABLATIONS.values():
            section = text.split(f"## `{d}`: {title}")[1].split("\n## ")[0]
            for v in variants:
                assert f"(`{v}`)" in section
    # the paper's full model and VIBE as published; the FC-dynamics row has no paper numbers
    assert re.search(r"\(`full`\) \| [^\n]*\| 52\.2 \| 92\.8 \| 106\.1 \| 6\.8 \|", text)
    assert "| VIBE (Kocabas et al. 2020) | 56.5 | 93.5 | 113.4 | 27.1 |" in text
    fc = next(ln for ln in text.splitlines() if "(`fc_dynamics`)" in ln)
    assert fc.rstrip().endswith("| - | - | - | - |")


def test_bad_metrics_files_fail_with_one_line(tmp_path):
    from hmr.report.tables import ablation_table, read_metrics, write_ablation

    files = _write_metrics(tmp_path / "m")
    df = pd.read_csv(files["full"])
    df.iloc[:-1].to_csv(tmp_path / "nomean.csv", index=False)
    with pytest.raises(InputError, match="nomean.csv: the last row must be the 'mean' row"):
        read_metrics(tmp_path / "nomean.csv")
    df.loc[len(df) - 1, "accel_err"] = np.nan
    df.to_csv(tmp_path / "nan.csv", index=False)
    with pytest.raises(InputError, match="nan.csv: the mean row has no value for Accel"):
        read_metrics(tmp_path / "nan.csv")
    df.drop(columns=["mpvpe"]).to_csv(tmp_path / "nocol.csv", index=False)
    with pytest.raises(InputError, match="missing column"):
        read_metrics(tmp_path / "nocol.csv")
    with pytest.raises(InputError, match="no metrics for variant"):
        ablation_table({v: read_metrics(p) for v, p in files.items() if v != "no_d"})
    out = tmp_path / "t.md"
    with pytest.raises(InputError, match="not found"):
        write_ablation({**files, "no_u": tmp_path / "missing.csv"}, "x", out, tmp_path / "t.csv")
    assert not out.exists()


def test_a_nan_mpvpe_mean_is_accepted_and_shown_as_a_dash(tmp_path):
    """MPVPE is NaN where the ground-truth SMPL parameters are not the body model's (3DPW with the
    embedded model): the report shows '-' and marks no best MPVPE; other metrics are unchanged."""
    from hmr.report.tables import read_metrics, write_ablation, write_summary

    files = _write_metrics(tmp_path / "m")
    for path in files.values():
        df = pd.read_csv(path)
        df["mpvpe"] = np.nan
        df["n_joints"] = 13                        # an extra column is ignored
        df.to_csv(path, index=False)
    assert np.isnan(read_metrics(files["full"])["mpvpe"].iloc[-1])
    md, csv = tmp_path / "ablation_pw3d.md", tmp_path / "ablation_pw3d.csv"
    table = write_ablation(files, "pw3d", md, csv)
    assert table["mpvpe"].isna().all() and not table["best_mpvpe"].any()
    assert table.loc[(table.table == "table2") & (table.variant == "full"), "best_mpjpe"].item()
    for line in md.read_text().splitlines():
        if "(`" in line:
            cells = [c.strip() for c in line.strip("|").split("|")]
            assert cells[3] == "-" and float(cells[2].strip("*")) > 0      # MPVPE, MPJPE
    text = write_summary({"pw3d": csv}, tmp_path / "summary.md")
    full = next(ln for ln in text.splitlines() if "(`full`)" in ln)
    assert [c.strip() for c in full.strip("|").split("|")][3] == "-"
    # a NaN mean of any other metric stays an error
    df = pd.read_csv(files["full"])
    df.loc[len(df) - 1, "pa_mpjpe"] = np.nan
    df.to_csv(tmp_path / "nan_pa.csv", index=False)
    with pytest.raises(InputError, match="nan_pa.csv: the mean row has no value for PA-MPJPE"):
        read_metrics(tmp_path / "nan_pa.csv")


# ---------------------------------------------------------------------------------- figures


def _predictions(tiny_dataset, folder, seqs=("test_000",)):
    """Predictions per variant: ground truth plus per-variant noise (full = exact)."""
    from hmr.io.h5 import write_arrays
    from hmr.io.sequence import read_sequence

    rng = np.random.default_rng(0)
    files: dict[str, list] = {}
    for k, v in enumerate(("full", "no_u_no_d", "fc_dynamics")):
        for s in seqs:
            a = read_sequence(tiny_dataset / f"{s}.h5").arrays
            T = len(a["gt/pose"])
            j3 = a["gt/joints3d"] - a["gt/joints3d"][:, :1] + rng.normal(0, 0.01 * k, (T, 24, 3))
            path = folder / v / f"{s}.h5"
            write_arrays(path, {
                "pose": a["gt/pose"] + rng.normal(0, 0.05 * k, (T, 72)).astype(np.float32),
                "betas": a["gt/betas"], "cam": np.tile(np.float32([[1, 0, 0]]), (T, 1)),
                "joints3d": j3.astype(np.float32), "joints2d": a["gt/joints2d"],
                "sigma": np.ones((T, 32), np.float32)})
            files.setdefault(v, []).append(path)
    return files


def _png_size(path):
    import matplotlib.image as mpimg

    img = mpimg.imread(path)
    assert img.std() > 0.01            # not blank
    return img.shape[1], img.shape[0]


def test_per_frame_and_per_joint_errors_known_answers(tiny_dataset):
    from hmr.io.sequence import read_sequence
    from hmr.report.figures import accel_per_frame, per_joint_error

    seq = read_sequence(tiny_dataset / "test_000.h5")
    gt = seq.arrays["gt/joints3d"].astype(np.float64)
    T = len(gt)
    # exact up to a translation: no acceleration error, no joint error
    acc = accel_per_frame(seq, gt + [0.3, -0.1, 2.0], "x")
    assert np.isnan(acc[[0, -1]]).all() and np.allclose(acc[1:-1], 0, atol=1e-9)
    # a 24 mm bump of every non-root joint along x in frame 5: second differences +-24/+48 mm,
    # so the error is (23/24) * (24, 48, 24) mm at frames 4, 5, 6 and zero elsewhere
    bumped = gt.copy()
    bumped[5, 1:, 0] += 0.024
    acc = accel_per_frame(seq, bumped, "x")
    want = np.zeros(T)
    want[[4, 5, 6]] = np.array([24.0, 48.0, 24.0]) * 23 / 24
    want[[0, -1]] = np.nan
    np.testing.assert_allclose(acc, want, atol=1e-6)
    # 10 mm off on the left knee in every frame: per-joint error 10 there, 0 elsewhere
    off = gt.copy()
    off[:, 4, 2] += 0.010
    total, n, names = per_joint_error(seq, off, "x")
    assert n == int(seq.arrays["gt/valid"].sum()) and names[4] == "left_knee"
    np.testing.assert_allclose(total / n, np.eye(24)[4] * 10.0, atol=1e-9)


def test_figures_are_written(tiny_dataset, embedded_model_path, tmp_path):
    from hmr.report.figures import accel_figure, per_joint_figure, qualitative_figure

    preds = _predictions(tiny_dataset, tmp_path / "pred")
    seq = tiny_dataset / "test_000.h5"
    curves = accel_figure(seq, {v: p[0] for v, p in preds.items()}, tmp_path / "accel.png", "synthetic",
                          size_in=(8, 3), dpi=50)
    assert _png_size(tmp_path / "accel.png") == (400, 150)
    assert np.nanmax(np.abs(curves["full"])) < 1e-3   # float32 files and np.nanmean(curves["fc_dynamics"]) > 1.0
    errors = per_joint_figure([seq], preds, tmp_path / "joints.png", "synthetic", size_in=(8, 3), dpi=50)
    assert _png_size(tmp_path / "joints.png") == (400, 150)
    assert errors["full"].max() < 1e-3 and errors["fc_dynamics"].mean() > errors["no_u_no_d"].mean()
    idx = qualitative_figure(seq, {v: preds[v][0] for v in ("full", "no_u_no_d")}, embedded_model_path,
                             tmp_path / "qual.png", "synthetic", n_frames=3, tile_width=128, dpi=50)
    assert idx.tolist() == [0, 6, 11]
    w, h = _png_size(tmp_path / "qual.png")
    assert w > 200 and h > 200


def test_figures_reject_sequences_without_3d_ground_truth(tmp_path):
    from hmr.io.h5 import write_arrays
    from hmr.io.sequence import Sequence, write_sequence
    from hmr.report.figures import accel_figure

    seq = tmp_path / "video.h5"
    write_sequence(seq, Sequence(name="video", dataset="d", fps=30, width=32, height=32, n_frames=4,
                                 frames=np.zeros((4, 32, 32, 3), np.uint8)))
    pred = tmp_path / "p.h5"
    write_arrays(pred, {"joints3d": np.zeros((4, 24, 3), np.float32)})
    with pytest.raises(InputError, match="p.h5: no 3D ground truth"):
        accel_figure(seq, {"full": pred}, tmp_path / "a.png", "d")
    assert not (tmp_path / "a.png").exists()


def test_figure_errors_agree_with_the_metrics_stage(tiny_dataset, tmp_path):
    """The accel curve's mean and the per-joint errors' mean are the metrics CSV's accel_err and
    MPJPE of the same sequence (same joints, root, valid frames)."""
    from hmr.eval.evaluate import evaluate_sequence
    from hmr.io.h5 import read_array
    from hmr.io.sequence import read_sequence
    from hmr.report.figures import accel_per_frame, per_joint_error

    preds = _predictions(tiny_dataset, tmp_path / "pred")
    seq_path = tiny_dataset / "test_000.h5"
    seq = read_sequence(seq_path)
    for v in ("no_u_no_d", "fc_dynamics"):
        row = evaluate_sequence(seq_path, preds[v][0], None)
        pj = read_array(preds[v][0], "joints3d")
        assert np.nanmean(accel_per_frame(seq, pj, "x")) == pytest.approx(row["accel_err"], rel=1e-9)
        total, n, _ = per_joint_error(seq, pj, "x")
        assert (total / n).mean() == pytest.approx(row["mpjpe"], rel=1e-9)
