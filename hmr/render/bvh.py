"""BVH export of SMPL motion on SMPL's 24-joint skeleton, written and read in plain Python.

The skeleton is SMPL's kinematic tree (:data:`hmr.body.joints.SMPL_PARENTS`, joint names as
SMPL's). Bone offsets are the rest-pose joint differences ``J_j - J_parent`` of one body shape
(SMPL's rest frame is Y-up, facing +Z, so the rest pose in the file is an upright T-pose).
Five leaves (feet, head, hands) end in an ``End Site`` half as long as the bone before it.

Coordinates. SMPL poses here have their root orientation in the camera frame (x right, y down,
z forward). The file's world frame is that camera frame turned 180 degrees about x (x right,
y up, z towards the camera), BVH's usual Y-up convention that Blender's importer expects:
with C = diag(1, -1, -1), the root rotation is written as C R_root and the root position as
C (J_root + trans); the other joints keep SMPL's local rotations. A joint's position from the
file's forward kinematics is then ``C`` times SMPL's camera-frame joint, scaled by ``scale``
(file units per metre: 1 for metres, Blender's default; 100 for centimetres).

Channels: the root has ``Xposition Yposition Zposition Zrotation Xrotation Yrotation``, every
other joint ``Zrotation Xrotation Yrotation`` (degrees); a joint's local rotation is
R = Rz(z) Rx(x) Ry(y) and its transform in the parent's frame is translate(OFFSET) * R. The root
OFFSET is zero and the root position channels are absolute.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from hmr.body.joints import SMPL_JOINT_NAMES, SMPL_PARENTS
from hmr.errors import InputError
from hmr.io.atomic import atomic_path

ROT_ORDER = "ZXY"
"""Euler channel order of every joint (intrinsic: R = Rz Rx Ry)."""

CAMERA_TO_BVH = np.diag([1.0, -1.0, -1.0])
"""Camera frame (y down, z forward) -> the file's Y-up world (180 degrees about x)."""


@dataclass
class BvhSkeleton:
    """A parsed BVH hierarchy and motion (what :func:`read_bvh` returns)."""

    names: list[str]
    parents: list[int]
    offsets: np.ndarray                      # (J,3) offset of each joint in its parent's frame
    channels: list[list[str]]                # channel names of each joint, in file order
    end_sites: dict[int, np.ndarray] = field(default_factory=dict)  # joint -> End Site offset
    motion: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # (F, total channels)
    frame_time: float = 0.0


def _end_site_offsets(rest_joints: np.ndarray, parents: tuple[int, ...]) -> dict[int, np.ndarray]:
    """Leaf joint -> End Site offset: half the vector from its parent to it."""
    children = {p for p in parents if p >= 0}
    return {j: 0.5 * (rest_joints[j] - rest_joints[p])
            for j, p in enumerate(parents) if j not in children and p >= 0}


def _write_hierarchy(lines: list[str], j: int, offsets: np.ndarray, children: dict[int, list[int]],
                     end_sites: dict[int, np.ndarray], depth: int) -> None:
    pad = "  " * depth
    head = "ROOT" if depth == 0 else "JOINT"
    lines.append(f"{pad}{head} {SMPL_JOINT_NAMES[j]}")
    lines.append(f"{pad}{{")
    lines.append(f"{pad}  OFFSET " + " ".join(f"{v:.6f}" for v in offsets[j]))
    rot = " ".join(f"{a}rotation" for a in ROT_ORDER)
    if depth == 0:
        lines.append(f"{pad}  CHANNELS 6 Xposition Yposition Zposition {rot}")
    else:
        lines.append(f"{pad}  CHANNELS 3 {rot}")
    for c in children.get(j, []):
        _write_hierarchy(lines, c, offsets, children, end_sites, depth + 1)
    if j in end_sites:
        lines.append(f"{pad}  End Site")
        lines.append(f"{pad}  {{")
        lines.append(f"{pad}    OFFSET " + " ".join(f"{v:.6f}" for v in end_sites[j]))
        lines.append(f"{pad}  }}")
    lines.append(f"{pad}}}")


def _depth_first(children: dict[int, list[int]], j: int = 0) -> list[int]:
    out = [j]
    for c in children.get(j, []):
        out += _depth_first(children, c)
    return out


def smpl_motion_to_bvh(path: str | os.PathLike, pose: np.ndarray, trans: np.ndarray | None,
                       rest_joints: np.ndarray, fps: float, scale: float = 1.0) -> None:
    """Write SMPL motion as a BVH file (atomically).

    Args:
        path: output ``.bvh``.
        pose: (T,72) axis-angle, root orientation in the camera frame.
        trans: (T,3) SMPL translation in metres (camera frame), or None for zeros.
        rest_joints: (24,3) rest-pose joints of the body shape (``J_regressor @ v_shaped``,
            e.g. :func:`rest_joints` of the mean betas), metres.
        fps: frame rate; the file's ``Frame Time`` is 1 / fps.
        scale: file units per metre.
    """
    pose = np.asarray(pose, np.float64).reshape(-1, 24, 3)
    T = len(pose)
    trans = np.zeros((T, 3)) if trans is None else np.asarray(trans, np.float64).reshape(T, 3)
    rest = np.asarray(rest_joints, np.float64)
    if rest.shape != (24, 3):
        raise InputError(f"{path}: rest joints have shape {rest.shape}, expected (24, 3)")
    if not (np.isfinite(pose).all() and np.isfinite(trans).all() and np.isfinite(rest).all()):
        raise InputError(f"{path}: pose, translation or rest joints contain NaN or inf")
    if not fps > 0:
        raise InputError(f"{path}: frame rate must be positive, got {fps}")
    parents = SMPL_PARENTS
    offsets = np.zeros((24, 3))
    for j, p in enumerate(parents):
        if p >= 0:
            offsets[j] = (rest[j] - rest[p]) * scale
    end_sites = {j: o * scale for j, o in _end_site_offsets(rest, parents).items()}
    children: dict[int, list[int]] = {}
    for j, p in enumerate(parents):
        if p >= 0:
            children.setdefault(p, []).append(j)
    order = _depth_first(children)  # the order joints (and their channels) appear in the file

    R = Rotation.from_rotvec(pose.reshape(-1, 3)).as_matrix().reshape(T, 24, 3, 3)
    R[:, 0] = CAMERA_TO_BVH @ R[:, 0]   # the root's orientation in the Y-up world
    euler = Rotation.from_matrix(R.reshape(-1, 3, 3)).as_euler(ROT_ORDER, degrees=True)
    euler = euler.reshape(T, 24, 3)
    root_pos = (rest[0] + trans) @ CAMERA_TO_BVH.T * scale

    lines = ["HIERARCHY"]
    _write_hierarchy(lines, 0, offsets, children, end_sites, 0)
    lines += ["MOTION", f"Frames: {T}", f"Frame Time: {1.0 / fps:.8f}"]
    cols = [root_pos] + [euler[:, j] for j in order]
    motion = np.concatenate(cols, axis=1)
    lines += [" ".join(f"{v:.6f}" for v in row) for row in motion]
    with atomic_path(path, suffix=".bvh") as tmp:
        tmp.write_text("\n".join(lines) + "\n")


def rest_joints(layer, betas: np.ndarray) -> np.ndarray:
    """(24,3) rest-pose joints of an SMPL layer for one shape ``betas`` (10,)."""
    from hmr.body.smpl import smpl_forward

    _, joints = smpl_forward(layer, np.zeros((1, 72)), np.asarray(betas).reshape(1, -1))
    return joints[0, :24].astype(np.float64)


# --------------------------------------------------------------------------------------------
# Reading (a small, strict parser: what this module writes and ordinary BVH files)
# --------------------------------------------------------------------------------------------


def read_bvh(path: str | os.PathLike) -> BvhSkeleton:
    """Parse a BVH file's hierarchy and motion; InputError naming the file on a bad file."""
    try:
        tokens = Path(path).read_text().split()
    except OSError as exc:
        raise InputError(f"{path}: cannot read BVH file ({exc.__class__.__name__})") from None
    pos = 0

    def take(expect: str | None = None) -> str:
        nonlocal pos
        if pos >= len(tokens):
            raise InputError(f"{path}: BVH ends early (expected {expect or 'more'})")
        tok = tokens[pos]
        pos += 1
        if expect is not None and tok != expect:
            raise InputError(f"{path}: BVH has '{tok}' where '{expect}' belongs")
        return tok

    def floats(n: int) -> np.ndarray:
        try:
            return np.array([float(take()) for _ in range(n)])
        except ValueError:
            raise InputError(f"{path}: non-numeric value in BVH near token {pos}") from None

    sk = BvhSkeleton(names=[], parents=[], offsets=np.zeros((0, 3)), channels=[])
    offsets: list[np.ndarray] = []
    take("HIERARCHY")
    stack: list[int] = []
    kind = take()
    if kind != "ROOT":
        raise InputError(f"{path}: BVH hierarchy must start with ROOT, got '{kind}'")
    while True:
        if kind in ("ROOT", "JOINT"):
            name = take()
            take("{")
            take("OFFSET")
            sk.names.append(name)
            sk.parents.append(stack[-1] if stack else -1)
            offsets.append(floats(3))
            take("CHANNELS")
            n = int(take())
            sk.channels.append([take() for _ in range(n)])
            stack.append(len(sk.names) - 1)
        elif kind == "End":
            take("Site")
            take("{")
            take("OFFSET")
            sk.end_sites[stack[-1]] = floats(3)
            take("}")
        elif kind == "}":
            stack.pop()
            if not stack:
                break
        else:
            raise InputError(f"{path}: unexpected '{kind}' in BVH hierarchy")
        kind = take()
    sk.offsets = np.array(offsets)
    take("MOTION")
    take("Frames:")
    n_frames = int(take())
    take("Frame")
    take("Time:")
    sk.frame_time = float(take())
    n_ch = sum(len(c) for c in sk.channels)
    sk.motion = floats(n_frames * n_ch).reshape(n_frames, n_ch)
    if pos != len(tokens):
        raise InputError(f"{path}: {len(tokens) - pos} values after the last BVH frame")
    return sk


def _axis_rotation(axis: str, deg: np.ndarray) -> np.ndarray:
    """(F,3,3) rotations by ``deg`` degrees about the x, y or z axis."""
    a = np.radians(deg)
    c, s = np.cos(a), np.sin(a)
    R = np.zeros(a.shape + (3, 3))
    i = "XYZ".index(axis)
    j, k = (i + 1) % 3, (i + 2) % 3
    R[..., i, i] = 1.0
    R[..., j, j] = c
    R[..., k, k] = c
    R[..., j, k] = -s
    R[..., k, j] = s
    return R


def bvh_joint_positions(sk: BvhSkeleton) -> np.ndarray:
    """(F,J,3) world positions of the joints by forward kinematics of a parsed BVH.

    Each joint: G_j = G_parent * translate(OFFSET_j + position channels) * (rotation channels,
    composed left to right in the order they are listed).
    """
    F, J = len(sk.motion), len(sk.names)
    G = np.zeros((F, J, 4, 4))
    col = 0
    for j in range(J):
        local = np.tile(np.eye(4), (F, 1, 1))
        local[:, :3, 3] = sk.offsets[j]
        R = np.tile(np.eye(3), (F, 1, 1))
        for name in sk.channels[j]:
            v = sk.motion[:, col]
            col += 1
            if name.endswith("position"):
                local[:, "XYZ".index(name[0]), 3] += v
            elif name.endswith("rotation"):
                R = R @ _axis_rotation(name[0], v)
            else:
                raise InputError(f"unknown BVH channel '{name}'")
        local[:, :3, :3] = R
        p = sk.parents[j]
        G[:, j] = local if p < 0 else G[:, p] @ local
    return G[:, :, :3, 3]
