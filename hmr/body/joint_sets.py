"""Joint sets and the conversions between them, in one place.

Indices refer to the joint order of an array: ``SMPL45`` is what ``smplx.SMPL`` returns (SMPL's 24
joints, then the vertex-based extra joints: nose, right eye, left eye, right ear, left ear, left big
toe, left small toe, left heel, right big toe, right small toe, right heel, then 10 finger tips).
"""

from __future__ import annotations

import numpy as np

from hmr.body.joints import SMPL_JOINT_NAMES

SMPL24 = SMPL_JOINT_NAMES

COCO17: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)

# limbs for drawing and for per-bone statistics
COCO17_EDGES: tuple[tuple[int, int], ...] = (
    (0, 1), (0, 2), (1, 3), (2, 4), (5, 6), (5, 7), (7, 9), (6, 8), (8, 10),
    (5, 11), (6, 12), (11, 12), (11, 13), (13, 15), (12, 14), (14, 16),
)

# mirror image of each COCO-17 joint (left <-> right)
COCO17_FLIP: tuple[int, ...] = (0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15)

# COCO-17 from smplx's 45 SMPL joints: face points from vertices, limbs from SMPL's joints. SMPL's
# hip joints sit a little higher and more medial than COCO's annotated hips (a known offset).
SMPL45_TO_COCO17: tuple[int, ...] = (24, 26, 25, 28, 27, 16, 17, 18, 19, 20, 21, 1, 2, 4, 5, 7, 8)


def smpl_to_coco17(joints: np.ndarray) -> np.ndarray:
    """(..., 45, C) smplx SMPL joints -> (..., 17, C) COCO-17 joints."""
    joints = np.asarray(joints)
    if joints.shape[-2] < 45:
        raise ValueError(f"smpl_to_coco17: expected 45 smplx joints, got {joints.shape[-2]}")
    return joints[..., SMPL45_TO_COCO17, :]


def project_points(K: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Pinhole projection of camera-frame points: K (T,3,3), X (T,N,3) -> pixels (T,N,2)."""
    uvw = np.einsum("tij,tnj->tni", np.asarray(K, np.float64), np.asarray(X, np.float64))
    return uvw[..., :2] / uvw[..., 2:3]


# --------------------------------------------------------------------------------------------
# Every joint set the datasets use, by joint *name*. Conversions between sets go through the
# names: a joint of the target set is taken from the source joint of the same name. Names are
# chosen so that equal names are the points the field's published mappings treat as the same
# (e.g. Human3.6M's "Thorax" is named ``neck`` because the 14-joint LSP evaluation takes its neck
# from it; Human3.6M's "Neck/Nose" is named ``head`` as MPI-INF-3DHP's "head", which it matches).
# Joints with no counterpart (e.g. LSP's head top from SMPL's 24 joints) are reported missing.
# --------------------------------------------------------------------------------------------

# smplx's 45 SMPL joints: SMPL's 24, then the vertex-based extras (see the module docstring)
SMPL45: tuple[str, ...] = SMPL24 + (
    "nose", "right_eye", "left_eye", "right_ear", "left_ear",
    "left_big_toe", "left_small_toe", "left_heel", "right_big_toe", "right_small_toe", "right_heel",
    "left_thumb", "left_index", "left_middle", "left_ring", "left_pinky",
    "right_thumb", "right_index", "right_middle", "right_ring", "right_pinky",
)

# Human3.6M's 17 joints as the field uses them (VideoPose3D order): Hip, RHip, RKnee, RFoot,
# LHip, LKnee, LFoot, Spine, Thorax, Neck/Nose, Head, LShoulder, LElbow, LWrist, RShoulder,
# RElbow, RWrist.
H36M17: tuple[str, ...] = (
    "pelvis", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
    "spine", "neck", "head", "head_top",
    "left_shoulder", "left_elbow", "left_wrist", "right_shoulder", "right_elbow", "right_wrist",
)
# rows of the official 32-joint D3_Positions / D2_Positions arrays that give H36M17
H36M32_TO_H36M17: tuple[int, ...] = (0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27)

# The 14 LSP joints of the field's 3DPW / MPI-INF-3DHP / H36M evaluation (VIBE, TCMR); the
# pelvis used for alignment there is the mean of the two hips (see ``pelvis_from_hips``).
LSP14: tuple[str, ...] = (
    "right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle",
    "right_wrist", "right_elbow", "right_shoulder", "left_shoulder", "left_elbow", "left_wrist",
    "neck", "head_top",
)

# MPI-INF-3DHP's 17 evaluation ("relevant") joints, the test set's annot2/annot3 order
MPI3DHP17: tuple[str, ...] = (
    "head_top", "neck", "right_shoulder", "right_elbow", "right_wrist",
    "left_shoulder", "left_elbow", "left_wrist", "right_hip", "right_knee", "right_ankle",
    "left_hip", "left_knee", "left_ankle", "pelvis", "spine", "head",
)
# MPI-INF-3DHP's full 28-joint training skeleton (annot.mat order). Its spine chain has no
# counterpart elsewhere except "spine" (MPI17's spine), so the others carry an ``mpi_`` prefix.
MPI3DHP28: tuple[str, ...] = (
    "mpi_spine3", "mpi_spine4", "mpi_spine2", "spine", "pelvis", "neck", "head", "head_top",
    "left_clavicle", "left_shoulder", "left_elbow", "left_wrist", "left_hand",
    "right_clavicle", "right_shoulder", "right_elbow", "right_wrist", "right_hand",
    "left_hip", "left_knee", "left_ankle", "left_foot", "left_toe",
    "right_hip", "right_knee", "right_ankle", "right_foot", "right_toe",
)

# OpenPose's COCO-18 output (3DPW's ``poses2d``): COCO's 17 with a neck, in OpenPose order
OPENPOSE18: tuple[str, ...] = (
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
    "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
    "right_eye", "left_eye", "right_ear", "left_ear",
)
# OpenPose BODY_25
OPENPOSE25: tuple[str, ...] = (
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder", "left_elbow",
    "left_wrist", "mid_hip", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee",
    "left_ankle", "right_eye", "left_eye", "right_ear", "left_ear", "left_big_toe",
    "left_small_toe", "left_heel", "right_big_toe", "right_small_toe", "right_heel",
)
# SPIN's / VIBE's 49 joints (``joints2D`` / ``joints3D`` of VIBE's db files): OpenPose BODY_25
# (prefixed ``op_``: detections), then 24 ground-truth joints. A conversion takes the ground-truth
# joint and falls back to the ``op_`` one where the ground truth has confidence 0.
SPIN49: tuple[str, ...] = tuple(f"op_{n}" for n in OPENPOSE25) + (
    "right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle",
    "right_wrist", "right_elbow", "right_shoulder", "left_shoulder", "left_elbow", "left_wrist",
    "neck", "head_top", "pelvis", "thorax", "spine", "jaw", "head",
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
)

# Penn Action's 13 joints (labels/*.mat x, y, visibility)
PENN13: tuple[str, ...] = (
    "head", "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist",
    "right_wrist", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)

# PoseTrack 2018's 17 joints: COCO's order with head_bottom / head_top in place of the eyes
# (its ears are never annotated: visibility 0)
POSETRACK17: tuple[str, ...] = (
    "nose", "head_bottom", "head_top", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)

JOINT_SETS: dict[str, tuple[str, ...]] = {
    "smpl24": SMPL24, "smpl45": SMPL45, "coco17": COCO17, "h36m17": H36M17, "lsp14": LSP14,
    "mpi3dhp17": MPI3DHP17, "mpi3dhp28": MPI3DHP28, "openpose18": OPENPOSE18,
    "openpose25": OPENPOSE25, "spin49": SPIN49, "penn13": PENN13, "posetrack17": POSETRACK17,
}

# The joint set each evaluation protocol reports metrics on (the default of a dataset's
# ``metric_joint_set`` key): VIBE/TCMR and the paper evaluate 3DPW, MPI-INF-3DHP and Human3.6M on
# the 14 LSP joints; the synthetic benchmark has exact SMPL joints.
PROTOCOL_JOINT_SETS: dict[str, str] = {
    "synthetic": "smpl24", "sequences": "smpl24", "3dpw": "lsp14", "h36m": "lsp14",
    "mpi_inf_3dhp": "lsp14", "vibe_db": "lsp14",
}


def joint_names(name: str) -> tuple[str, ...]:
    """The joint names of joint set ``name``; ValueError listing the known sets otherwise."""
    try:
        return JOINT_SETS[name]
    except KeyError:
        raise ValueError(f"unknown joint set '{name}' (known: {', '.join(sorted(JOINT_SETS))})") from None


def conversion_table(src: str, dst: str) -> list[tuple[int, ...]]:
    """For each joint of ``dst``, the indices in ``src`` it can come from (first preferred; an
    ``op_`` detection second); empty when ``src`` has no such joint."""
    src_names = {n: i for i, n in enumerate(joint_names(src))}
    return [tuple(src_names[c] for c in (n, f"op_{n}") if c in src_names) for n in joint_names(dst)]


def convert_joints(joints: np.ndarray, src: str, dst: str,
                   confidence: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(..., J_src, C) joints in set ``src`` -> ((..., J_dst, C) joints in ``dst``, (J_dst,) bool
    mask of the joints ``src`` has). Missing joints are zeros (so confidence 0 for 2D keypoints).
    With ``confidence`` (the last channel is a confidence, e.g. (x, y, c) keypoints) a joint whose
    first source has confidence 0 takes its fallback source (SPIN-49's OpenPose detections)."""
    joints = np.asarray(joints)
    n_src = len(joint_names(src))
    if joints.shape[-2] != n_src:
        raise ValueError(f"convert_joints: {src} has {n_src} joints, got array {joints.shape}")
    table = conversion_table(src, dst)
    out = np.zeros(joints.shape[:-2] + (len(table), joints.shape[-1]), joints.dtype)
    present = np.array([len(c) > 0 for c in table])
    for j, cands in enumerate(table):
        if not cands:
            continue
        out[..., j, :] = joints[..., cands[0], :]
        if len(cands) > 1 and confidence:
            fallback = joints[..., cands[0], 2] <= 0
            out[..., j, :][fallback] = joints[..., cands[1], :][fallback]
    return out, present


def openpose18_to_coco17(joints: np.ndarray) -> np.ndarray:
    """(..., 18, C) OpenPose COCO-18 -> (..., 17, C) COCO-17 (OpenPose's neck dropped)."""
    return convert_joints(joints, "openpose18", "coco17", confidence=True)[0]


def h36m32_to_h36m17(joints: np.ndarray) -> np.ndarray:
    """(..., 32, C) Human3.6M's official 32 rows -> (..., 17, C) H36M-17."""
    joints = np.asarray(joints)
    if joints.shape[-2] != 32:
        raise ValueError(f"h36m32_to_h36m17: expected 32 joints, got {joints.shape}")
    return joints[..., H36M32_TO_H36M17, :]


def pelvis_from_hips(joints: np.ndarray, joint_set: str) -> np.ndarray:
    """(..., J, 3) -> (..., 3): the mean of the two hips, the root the field subtracts before
    MPJPE on the 14 LSP joints (VIBE's evaluation)."""
    names = joint_names(joint_set)
    joints = np.asarray(joints)
    return 0.5 * (joints[..., names.index("left_hip"), :] + joints[..., names.index("right_hip"), :])
