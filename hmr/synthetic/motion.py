"""Procedural human motion in SMPL's pose format, inside a per-joint limit table.

Twenty-one actions (``ACTIONS``): walk and run along straight, curved or S-shaped paths (periodic
gait curves of hip, knee, ankle and toe flexion, arm swing in counter-phase, pelvis bob, sway and
rotation), crawl on hands and knees, dance (step-touches to a beat, hip sway, arm moves) and
jumping jacks (also phase-driven); jump (vertical, forward, jumping-jack), squat, turn in place,
reach, wave, kick, bend, sit-down/stand-up, punch (jabs, crosses and hooks from a boxing guard),
throw (overarm, with wind-up and step), lunge (forward, side), stretch (overhead, side, toe
touch), cartwheel (a full turn about the forward axis), roll (lying, about the body's long axis),
lie_down (standing to lying on the front or back) and get_up (the reverse), as key poses
interpolated with monotone cubic splines. Speed, amplitude, style, facing direction and path are
random; a low-amplitude smooth noise adds natural variation.
Everything is a sum of sinusoids, C1 cubic splines (PCHIP) and quintic easing, so the motion is
C1 in time. The generator works in Euler angles per joint, soft-clips them into ``JOINT_LIMITS``
and converts to SMPL axis-angle. Deterministic from the ``rng`` it is given.

Conventions
-----------
* World: Y up, meters. At rest (θ = 0) the body is SMPL's T-pose, facing +Z, its left at +X.
* ``pose`` (T, 72): SMPL axis-angle; ``pose[:, :3]`` is the root (pelvis) orientation in the
  world, ``pose[:, 3:]`` the joint-local rotations of joints 1..23 (SMPL's rest frames are all
  aligned with the world axes, so a joint's local X/Y/Z are the world X/Y/Z in the T-pose).
  Root rotation vectors are the canonical ones (norm <= π).
* ``trans`` (T, 3): SMPL's ``transl``, added to the posed body. ``trans = 0`` is the standing
  height: the pelvis joint is taken to sit ``PELVIS_HEIGHT`` = 0.93 m above the floor at rest, so
  the ground plane is at ``y = GROUND_Y`` = -0.93 *relative to the rest pelvis joint* (absolute
  ground height = rest pelvis height of the body model + ``GROUND_Y``; 0 + ``GROUND_Y`` for a
  pelvis-centred model). ``trans[:, 1]`` carries vertical motion (bob, squat, jump) relative to
  standing; ``trans[0]`` has x = z = 0. Foot contact is approximate, not exact.
* Heading ψ (degrees, about +Y): the body faces (sin ψ, 0, cos ψ).

Joint axes in the T-pose (verified by forward kinematics in tests/test_motion.py)
------------------------------------------------------------------------------
* hip (leg along -Y): -X flexes (thigh forward), +Z abducts the LEFT leg (toward +X),
  +Y rotates the left leg externally (toes toward +X);
* knee: +X flexes (shin backward, -Z); never negative (no hyperextension);
* ankle: +X plantarflexes (toes down), -X dorsiflexes; foot (toes): -X extends (toes up);
* spine1/2/3, neck, head: +X bends forward, +Y twists to the left, -Z bends to the left;
* collar: +Z raises the left shoulder;
* shoulder (left arm along +X): -Z lowers the arm (about -70 deg brings the T-pose arm down to
  the side), then -X swings the lowered arm forward (flexion), Y twists it;
* elbow (left forearm along +X): -Y flexes (forearm forward); the right elbow flexes about +Y;
* wrist: -Z flexes the left hand (palm side down in the T-pose).
The right side is the mirror image (x -> -x): the same X angle, negated Y and Z angles.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.interpolate import PchipInterpolator
from scipy.spatial.transform import Rotation

from hmr.body.joints import NUM_SMPL_JOINTS, SMPL_JOINT_NAMES

ACTIONS: tuple[str, ...] = ("walk", "run", "jump", "squat", "turn", "reach", "wave", "kick", "bend",
                            "sit_stand", "crawl", "roll", "get_up", "lie_down", "dance", "punch",
                            "throw", "jumping_jacks", "lunge", "stretch", "cartwheel")
# How often random_motion picks each action: a mix closer to everyday video (3DPW-like: much walking),
# every action present; the floor and acrobatic ones (crawl, roll, get_up, lie_down, cartwheel) at
# half the weight of the other actions, walking at three times, running at twice.
ACTION_WEIGHTS: dict[str, float] = {a: 1.0 for a in ACTIONS} | {
    "walk": 3.0, "run": 2.0, "crawl": 0.5, "roll": 0.5, "get_up": 0.5, "lie_down": 0.5, "cartwheel": 0.5}

PELVIS_HEIGHT = 0.93          # m, rest pelvis joint above the floor (assumed, see module docstring)
GROUND_Y = -PELVIS_HEIGHT     # m, floor height relative to the rest pelvis joint
GRAVITY = 9.81                # m/s^2
THIGH, SHIN = 0.40, 0.42      # m, approximate segment lengths for the squat kinematics

# ----------------------------------------------------------------------------------------------
# joint limits


@dataclass(frozen=True)
class JointLimit:
    """An Euler-angle box of one joint, degrees, in the joint's local (T-pose-aligned) frame.

    ``order`` is scipy's intrinsic Euler order: the local rotation is
    R = R_{order[0]} @ R_{order[1]} @ R_{order[2]}, with the angles about X, Y, Z given by the
    ranges ``x``, ``y``, ``z``. The middle axis of every order has a range inside (-90, 90), so
    the decomposition of a rotation is unique.
    """

    order: str
    x: tuple[float, float]
    y: tuple[float, float]
    z: tuple[float, float]

    def mirrored(self) -> JointLimit:
        """The limit of the other side: the reflection x -> -x keeps X angles, negates Y and Z."""
        return JointLimit(self.order, self.x, (-self.y[1], -self.y[0]), (-self.z[1], -self.z[0]))

    @property
    def lo(self) -> np.ndarray:
        return np.radians([self.x[0], self.y[0], self.z[0]])

    @property
    def hi(self) -> np.ndarray:
        return np.radians([self.x[1], self.y[1], self.z[1]])


_CENTRE_AND_LEFT: dict[str, JointLimit] = {
    # X: -flexion/+extension, Y: external rotation, Z: abduction (left)
    "left_hip": JointLimit("XYZ", (-125, 35), (-45, 45), (-35, 55)),
    # X: flexion only (>= 0, no hyperextension)
    "left_knee": JointLimit("XYZ", (0, 150), (-15, 15), (-10, 10)),
    # X: +plantarflexion / -dorsiflexion
    "left_ankle": JointLimit("XYZ", (-40, 55), (-25, 25), (-25, 25)),
    # X: -toe extension / +toe flexion
    "left_foot": JointLimit("XYZ", (-50, 25), (-10, 10), (-10, 10)),
    # X: forward bend, Y: twist, Z: lateral bend
    "spine1": JointLimit("XYZ", (-30, 60), (-35, 35), (-30, 30)),
    "spine2": JointLimit("XYZ", (-25, 45), (-35, 35), (-30, 30)),
    "spine3": JointLimit("XYZ", (-25, 45), (-35, 35), (-30, 30)),
    "neck": JointLimit("XYZ", (-45, 55), (-60, 60), (-40, 40)),
    "head": JointLimit("XYZ", (-45, 45), (-60, 60), (-35, 35)),
    # Z: +elevation of the left shoulder girdle
    "left_collar": JointLimit("XYZ", (-20, 20), (-25, 25), (-35, 20)),
    # Z: -lowers / +raises the arm, X: -forward swing of the lowered arm, Y: twist / horizontal swing
    "left_shoulder": JointLimit("XYZ", (-115, 70), (-70, 70), (-100, 75)),
    # Y: -flexion only (left); X: forearm twist. Y first in the order: flexion up to 150 deg.
    "left_elbow": JointLimit("YZX", (-80, 80), (-150, 0), (-15, 15)),
    "left_wrist": JointLimit("XYZ", (-70, 70), (-45, 45), (-70, 70)),
    "left_hand": JointLimit("XYZ", (-25, 25), (-25, 25), (-25, 25)),
}


def _limit_table() -> dict[str, JointLimit]:
    table = {}
    for name in SMPL_JOINT_NAMES[1:]:
        if name in _CENTRE_AND_LEFT:
            table[name] = _CENTRE_AND_LEFT[name]
        else:  # right_* mirrors left_*
            table[name] = _CENTRE_AND_LEFT["left_" + name[len("right_"):]].mirrored()
    return table


# joint name -> Euler box; every joint but the root (pelvis), whose orientation is free
JOINT_LIMITS: dict[str, JointLimit] = _limit_table()
_LIMITS_BY_INDEX: tuple[JointLimit | None, ...] = (None,) + tuple(
    JOINT_LIMITS[n] for n in SMPL_JOINT_NAMES[1:])
_LO = np.array([lim.lo if lim else np.full(3, -np.inf) for lim in _LIMITS_BY_INDEX])  # (24, 3) rad
_HI = np.array([lim.hi if lim else np.full(3, np.inf) for lim in _LIMITS_BY_INDEX])

_LEFT = {"hip": 1, "knee": 4, "ankle": 7, "foot": 10, "collar": 13, "shoulder": 16, "elbow": 18,
         "wrist": 20, "hand": 22}
_RIGHT = {"hip": 2, "knee": 5, "ankle": 8, "foot": 11, "collar": 14, "shoulder": 17, "elbow": 19,
          "wrist": 21, "hand": 23}
_SPINE = ((3, 0.3), (6, 0.3), (9, 0.4))    # (joint, share of the whole-spine angle)
_NECK = ((12, 0.5), (15, 0.5))


def _axis_index(order: str) -> list[int]:
    return ["xyz".index(a) for a in order.lower()]


def _euler_to_rotvec(euler: np.ndarray, order: str) -> np.ndarray:
    """(N, 3) angles about (X, Y, Z), radians, composed in ``order`` -> (N, 3) rotation vectors."""
    return Rotation.from_euler(order, euler[:, _axis_index(order)]).as_rotvec()


def _rotvec_to_euler(rotvec: np.ndarray, order: str) -> np.ndarray:
    """(N, 3) rotation vectors -> (N, 3) angles about (X, Y, Z), radians, for ``order``.

    Rotations far outside the limit table may hit gimbal lock (middle angle +-90 deg); scipy's
    warning is silenced, the (non-unique) angles returned are still a valid decomposition."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Gimbal lock detected")
        angles = Rotation.from_rotvec(rotvec).as_euler(order)
    out = np.empty_like(angles)
    out[:, _axis_index(order)] = angles
    return out


def pose_to_euler(pose: np.ndarray) -> np.ndarray:
    """SMPL pose (..., 72) -> joint-local Euler angles (..., 24, 3), radians, about (X, Y, Z).

    Each joint is decomposed in its ``JOINT_LIMITS`` order; the root row is left at zero.
    """
    pose = np.asarray(pose, dtype=np.float64)
    lead = pose.shape[:-1]
    rv = pose.reshape(-1, NUM_SMPL_JOINTS, 3)
    out = np.zeros_like(rv)
    for j in range(1, NUM_SMPL_JOINTS):
        out[:, j] = _rotvec_to_euler(rv[:, j], _LIMITS_BY_INDEX[j].order)
    return out.reshape(*lead, NUM_SMPL_JOINTS, 3)


def euler_to_pose(euler: np.ndarray, root_rotvec: np.ndarray) -> np.ndarray:
    """Joint-local Euler angles (T, 24, 3) (root row ignored) and root rotvecs (T, 3) -> (T, 72)."""
    T = len(euler)
    rv = np.empty((T, NUM_SMPL_JOINTS, 3))
    rv[:, 0] = root_rotvec
    for j in range(1, NUM_SMPL_JOINTS):
        rv[:, j] = _euler_to_rotvec(euler[:, j], _LIMITS_BY_INDEX[j].order)
    return rv.reshape(T, -1)


def within_limits(pose: np.ndarray, tol_deg: float = 0.1) -> bool:
    """True when every non-root joint of every frame of ``pose`` (..., 72) is inside its box."""
    e = pose_to_euler(pose).reshape(-1, NUM_SMPL_JOINTS, 3)[:, 1:]
    tol = np.radians(tol_deg)
    return bool(np.all(np.isfinite(e)) and np.all(e >= _LO[1:] - tol) and np.all(e <= _HI[1:] + tol))


def _soft_clip(x: np.ndarray, lo: np.ndarray, hi: np.ndarray, margin: float) -> np.ndarray:
    """Identity inside [lo + m, hi - m], tanh saturation toward lo / hi beyond (C2, strict)."""
    m = np.minimum(margin, (hi - lo) / 4.0)
    a, b = lo + m, hi - m
    y = np.where(x > b, b + m * np.tanh((x - b) / m), x)
    return np.where(x < a, a - m * np.tanh((a - x) / m), y)


def clip_to_limits(pose: np.ndarray, soft: bool = False) -> np.ndarray:
    """Project the non-root joints of ``pose`` (T, 72) into ``JOINT_LIMITS`` (Euler-box clip).

    ``soft`` saturates smoothly (tanh) within 6 degrees of each bound instead of clipping, so a
    smooth input stays smooth.
    """
    pose = np.asarray(pose, dtype=np.float64).reshape(-1, 72)
    e = pose_to_euler(pose)
    if soft:
        e[:, 1:] = _soft_clip(e[:, 1:], _LO[1:], _HI[1:], np.radians(6.0))
    else:
        e[:, 1:] = np.clip(e[:, 1:], _LO[1:], _HI[1:])
    return euler_to_pose(e, pose[:, :3])


# ----------------------------------------------------------------------------------------------
# smooth building blocks


def _smootherstep(u: np.ndarray) -> np.ndarray:
    """Quintic ease 0 -> 1 on [0, 1] with zero 1st and 2nd derivatives at both ends (C2)."""
    u = np.clip(u, 0.0, 1.0)
    return u * u * u * (u * (6.0 * u - 15.0) + 10.0)


def _bump(c: np.ndarray, c0: float, p: int) -> np.ndarray:
    """A smooth periodic bump of the gait-cycle fraction ``c`` (period 1) peaking (=1) at ``c0``."""
    return ((1.0 + np.cos(2.0 * np.pi * (c - c0))) / 2.0) ** p


def _smooth_noise(t: np.ndarray, rng: np.random.Generator, shape: tuple[int, ...] = (),
                  fmin: float = 0.1, fmax: float = 0.6, n_sines: int = 3) -> np.ndarray:
    """Band-limited smooth noise (T, *shape) with |noise| <= 1: a sum of random sinusoids."""
    f = rng.uniform(fmin, fmax, (n_sines, *shape))
    ph = rng.uniform(0.0, 2.0 * np.pi, (n_sines, *shape))
    a = rng.dirichlet(np.ones(n_sines), size=shape)          # (*shape, n_sines), sums to 1
    a = np.moveaxis(a, -1, 0)
    tt = t.reshape(-1, *([1] * (len(shape) + 1)))
    return np.sum(a * np.sin(2.0 * np.pi * f * tt + ph), axis=1)


def _keyed(times: np.ndarray, values: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Monotone cubic (PCHIP, C1) through key values, flat before the first / after the last key."""
    times = np.asarray(times, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    tt = np.concatenate([[times[0] - 1.0], times, [times[-1] + 1.0]])
    vv = np.concatenate([values[:1], values, values[-1:]])
    return PchipInterpolator(tt, vv)(np.clip(t, tt[0], tt[-1]))


class _Timeline:
    """Key poses (dicts of channel values) at increasing times, starting with ``start`` (default:
    the rest pose)."""

    def __init__(self, start: dict[str, float] | None = None) -> None:
        self.keys: list[tuple[float, dict[str, float]]] = [(0.0, dict(start or {}))]

    @property
    def end(self) -> float:
        return self.keys[-1][0]

    def to(self, duration: float, **pose: float) -> None:
        """Move to ``pose`` (channels not named return to their rest values) in ``duration`` s."""
        self.keys.append((self.end + max(float(duration), 0.02), pose))

    def hold(self, duration: float) -> None:
        self.to(duration, **self.keys[-1][1])

    def apply(self, ch: dict, t: np.ndarray) -> None:
        """Interpolate every keyed channel over ``t`` into ``ch`` (rest values must be scalars)."""
        names = set().union(*(pose for _, pose in self.keys))
        times = np.array([k for k, _ in self.keys])
        for name in sorted(names):
            rest = ch.get(name, 0.0)
            if np.ndim(rest):
                raise ValueError(f"channel {name!r} is already time-varying")
            ch[name] = _keyed(times, [pose.get(name, rest) for _, pose in self.keys], t)


def _add(ch: dict, name: str, value) -> None:
    ch[name] = ch.get(name, 0.0) + value


def _squat_drop(thigh_deg, shin_deg):
    """Pelvis drop (m) and backward shift (m) for a thigh tilted forward by ``thigh_deg`` and a
    shin tilted forward by ``shin_deg`` from vertical, feet flat on the floor."""
    a, b = np.radians(thigh_deg), np.radians(shin_deg)
    drop = THIGH * (1.0 - np.cos(a)) + SHIN * (1.0 - np.cos(b))
    back = THIGH * np.sin(a) - SHIN * np.sin(b)
    return drop, back


def _thigh_for_drop(drop: float, shin_ratio: float) -> float:
    """Thigh angle (deg) giving a pelvis drop ``drop`` when the shin tilts ``shin_ratio`` * thigh."""
    grid = np.linspace(0.0, 110.0, 1101)
    d, _ = _squat_drop(grid, shin_ratio * grid)
    return float(np.interp(drop, d, grid))


def _leg_chain(ch: dict, sides: str = "lr") -> None:
    """Turn the keyed ``thigh`` / ``shin`` tilt channels into hip, knee and ankle angles and the
    matching pelvis drop and backward shift (feet stay roughly planted)."""
    thigh = ch.pop("thigh", 0.0)
    shin = ch.pop("shin", 0.0)
    for s in sides:
        _add(ch, f"hip_flex_{s}", thigh)
        _add(ch, f"knee_{s}", thigh + shin)
        _add(ch, f"ankle_{s}", shin)
    drop, back = _squat_drop(thigh, shin)
    _add(ch, "off_y", -drop)
    _add(ch, "off_z", -back)


def _u(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(rng.uniform(lo, hi))


# ----------------------------------------------------------------------------------------------
# channels -> SMPL parameters
#
# Channels (degrees for angles, meters for offsets), per side s in {l, r}:
#   hip_flex_s (thigh forward of vertical, pelvis tilt compensated), hip_abd_s, hip_rot_s,
#   knee_s, ankle_s (dorsiflexion), toe_s (extension), collar_s (elevation), sh_down_s (arm
#   below horizontal: 0 = T-pose, 90 = hanging), sh_flex_s (forward swing), sh_rot_s, elbow_s
#   (flexion), forearm_s (twist; about -75 with wrist_s about 60 puts a hanging arm's palm flat
#   on the floor, fingers forward), wrist_s (flexion);
# trunk: spine_flex, spine_twist (to the left), spine_lat (to the left), neck_flex, neck_yaw,
#   neck_lat; root: heading (path direction), pelvis_yaw, pitch (forward tilt), roll (tilt to
#   the subject's right), spin (turn about the body's own long axis, to the left; applied last,
#   so lying at pitch 90 it rolls the body over); translation: path_x, path_z (world), off_x,
#   off_y, off_z (body frame: x = subject's left, y = up, z = forward).
# The hips compensate pitch and roll (not spin): hip_flex / hip_abd are the thigh's angles from
# the world vertical, so lying face down is pitch = 90 with the thighs at hip_flex = -90.


def _rest_channels(rng: np.random.Generator) -> dict[str, float]:
    """A relaxed standing pose with a random personal style."""
    ch: dict[str, float] = {
        "spine_flex": _u(rng, -3, 6), "neck_flex": _u(rng, -6, 8), "neck_yaw": _u(rng, -4, 4),
        "pitch": _u(rng, -2, 3),
    }
    down, elbow, flex = _u(rng, 62, 78), _u(rng, 8, 22), _u(rng, -2, 8)
    hip_abd, hip_rot = _u(rng, 0, 5), _u(rng, 0, 10)
    for s in "lr":
        ch.update({
            f"sh_down_{s}": down + _u(rng, -3, 3), f"elbow_{s}": elbow + _u(rng, -4, 4),
            f"sh_flex_{s}": flex + _u(rng, -3, 3), f"collar_{s}": _u(rng, -5, 0),
            f"hip_abd_{s}": hip_abd, f"hip_rot_{s}": hip_rot, f"hip_flex_{s}": _u(rng, 0, 3),
            f"knee_{s}": _u(rng, 2, 6), f"ankle_{s}": _u(rng, 0, 3), f"wrist_{s}": _u(rng, 0, 15),
        })
    return ch


def _compose(ch: dict, T: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Channels -> joint-local Euler angles (T, 24, 3) rad, root rotvecs (T, 3), trans (T, 3)."""
    def g(name: str) -> np.ndarray:
        return np.broadcast_to(np.radians(np.asarray(ch.get(name, 0.0), dtype=np.float64)), (T,))

    def m(name: str) -> np.ndarray:
        return np.broadcast_to(np.asarray(ch.get(name, 0.0), dtype=np.float64), (T,))

    E = np.zeros((T, NUM_SMPL_JOINTS, 3))
    pitch, roll = g("pitch"), g("roll")
    for s, J, sgn in (("l", _LEFT, 1.0), ("r", _RIGHT, -1.0)):   # sgn mirrors Y and Z angles
        # hip: -X flexes; the pelvis pitch/roll are compensated so hip_flex/abd are thigh angles
        E[:, J["hip"], 0] = -(g(f"hip_flex_{s}") + pitch)
        E[:, J["hip"], 1] = sgn * g(f"hip_rot_{s}")
        E[:, J["hip"], 2] = sgn * g(f"hip_abd_{s}") - roll
        E[:, J["knee"], 0] = g(f"knee_{s}")                     # +X: knee flexion
        E[:, J["ankle"], 0] = -g(f"ankle_{s}")                  # -X: dorsiflexion
        E[:, J["foot"], 0] = -g(f"toe_{s}")                     # -X: toes up
        E[:, J["collar"], 2] = sgn * g(f"collar_{s}")           # +Z: left collar up
        E[:, J["shoulder"], 2] = -sgn * g(f"sh_down_{s}")       # -Z: left arm down
        E[:, J["shoulder"], 0] = -g(f"sh_flex_{s}")             # -X: lowered arm forward
        E[:, J["shoulder"], 1] = sgn * g(f"sh_rot_{s}")
        E[:, J["elbow"], 1] = -sgn * g(f"elbow_{s}")            # -Y: left elbow flexion
        E[:, J["elbow"], 0] = g(f"forearm_{s}")                 # X: forearm twist
        E[:, J["wrist"], 2] = -sgn * g(f"wrist_{s}")            # -Z: left wrist flexion
    for j, w in _SPINE:                                         # +X forward, +Y left twist, -Z left
        E[:, j] += w * np.stack([g("spine_flex"), g("spine_twist"), -g("spine_lat")], axis=1)
    for j, w in _NECK:
        E[:, j] += w * np.stack([g("neck_flex"), g("neck_yaw"), -g("neck_lat")], axis=1)

    heading = g("heading")
    root = Rotation.from_euler("YXZ", np.stack([heading + g("pelvis_yaw"), pitch, roll], axis=1))
    if "spin" in ch:
        root = root * Rotation.from_euler("y", g("spin")[:, None])
    c, s = np.cos(heading), np.sin(heading)
    ox, oy, oz = m("off_x"), m("off_y"), m("off_z")
    trans = np.stack([m("path_x") + c * ox + s * oz, oy, m("path_z") - s * ox + c * oz], axis=1)
    return E, root.as_rotvec(), trans


# per-joint amplitude (deg) of the natural-variation noise
_NOISE_DEG = np.array([0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 0.8, 0.8,
                       2.0, 2.5, 2.5, 2.5, 2.5, 4.0, 4.0, 3.0, 3.0])


# ----------------------------------------------------------------------------------------------
# actions: each fills the channel dict over the times t (s)


def _heading_path(t: np.ndarray, dt: float, rng: np.random.Generator, speed: np.ndarray,
                  walk: bool, ch: dict) -> None:
    """Integrate a straight, curved or S-shaped path on the ground at ``speed`` (m/s)."""
    kind = rng.choice(["straight", "curve", "s"], p=[0.35, 0.35, 0.3])
    if kind == "straight":
        rate = _u(rng, -4, 4) + 3.0 * _smooth_noise(t, rng)
    elif kind == "curve":
        rate = rng.choice([-1.0, 1.0]) * _u(rng, 8, 30 if walk else 20) + 3.0 * _smooth_noise(t, rng)
    else:
        rate = _u(rng, 15, 35) * np.sin(2 * np.pi * t / _u(rng, 3, 7) + _u(rng, 0, 2 * np.pi))
    heading = ch["heading"] + np.cumsum(rate * dt) - rate[0] * dt
    psi = np.radians(heading)
    step_x, step_z = speed * np.sin(psi) * dt, speed * np.cos(psi) * dt   # faces (sin ψ, 0, cos ψ)
    ch["heading"] = heading
    ch["path_x"] = np.cumsum(step_x) - step_x[0]
    ch["path_z"] = np.cumsum(step_z) - step_z[0]


def _foot_locked_speed(leg: Callable, toe_off: float, roll: float,
                       harmonics: int = 6) -> Callable[[np.ndarray], np.ndarray]:
    """Forward pelvis speed (m per gait cycle) as a smooth periodic function of the cycle c.

    While a foot is planted (c in [0, toe_off) for the left leg, shifted by 0.5 for the right),
    the pelvis moves forward as fast as that ankle moves backward relative to it (sagittal
    thigh/shin kinematics), plus a heel-to-toe ``roll`` (m) spread over the stance; double
    support averages both legs, flight interpolates. A truncated Fourier series keeps it C-inf.
    """
    n = 256
    cg = np.arange(n) / n
    h, kn = (np.radians(v) for v in leg(cg)[:2])
    ankle_fwd = THIGH * np.sin(h) + SHIN * np.sin(h - kn)        # ankle ahead of the hip, m
    back = -(np.roll(ankle_fwd, -1) - np.roll(ankle_fwd, 1)) * n / 2 + roll / toe_off
    total, count = np.zeros(n), np.zeros(n)
    for shift in (0, n // 2):                                    # left leg, right leg
        on = np.roll(cg < toe_off, shift)
        total += np.where(on, np.roll(back, shift), 0.0)
        count += on
    v = np.divide(total, count, out=np.zeros(n), where=count > 0)
    if np.any(count == 0):                                       # flight: bridge linearly
        known = np.flatnonzero(count > 0)
        v = np.interp(np.arange(n), known, v[known], period=n)
    coef = np.fft.rfft(v) / n
    coef[harmonics + 1:] = 0.0

    def speed(c: np.ndarray) -> np.ndarray:
        k = np.arange(1, harmonics + 1)
        ph = 2 * np.pi * np.multiply.outer(c, k)
        return coef[0].real + 2 * np.sum(coef[1:harmonics + 1].real * np.cos(ph)
                                         - coef[1:harmonics + 1].imag * np.sin(ph), axis=-1)
    return speed


def _gait(t: np.ndarray, rng: np.random.Generator, ch: dict, run: bool) -> None:
    """Walk or run: phase-driven joint curves (c = gait-cycle fraction, left heel strike at 0).

    The walking speed follows from the leg curves (``_foot_locked_speed``), so the stance foot
    roughly stays put on the ground.
    """
    k = _u(rng, 0.85, 1.15)                                       # amplitude style
    if run:
        freq = _u(rng, 1.25, 1.5)                                 # gait cycles per second
        hip_m, hip_a, c_max, skew = _u(rng, 12, 16), k * _u(rng, 28, 36), 0.84, -0.45
        knee0, knee_st, c_st = _u(rng, 12, 16), _u(rng, 18, 28), 0.16
        knee_sw, c_sw = k * _u(rng, 90, 115), 0.7
        toe_off, roll = 0.35, 0.06
        dorsi, plantar = _u(rng, 12, 20), _u(rng, 18, 28)
    else:
        freq = _u(rng, 0.85, 1.05)
        hip_m, hip_a, c_max, skew = _u(rng, 6, 10), k * _u(rng, 17, 23), 0.9, -0.4
        knee0, knee_st, c_st = 0.0, _u(rng, 8, 18), 0.14
        knee_sw, c_sw = k * _u(rng, 52, 65), 0.72
        toe_off, roll = 0.6, 0.15
        dorsi, plantar = _u(rng, 8, 12), _u(rng, 12, 20)

    def leg(cs: np.ndarray) -> tuple[np.ndarray, ...]:
        """Hip (thigh) flexion, knee flexion, ankle dorsiflexion, toe extension (deg) at cs."""
        # hip: max at c_max (late swing); the phase warp makes extension last ~60 % of the cycle
        phi = 2 * np.pi * (cs - c_max)
        hip = hip_m + hip_a * np.cos(phi + skew * (1 - np.cos(phi)))
        # knee: loading-response bump and swing peak
        knee = knee0 + knee_st * _bump(cs, c_st, 4 if run else 6) + knee_sw * _bump(cs, c_sw, 4)
        if run:
            ankle = dorsi * _bump(cs, 0.18, 6) - plantar * _bump(cs, 0.4, 10)
            toe = 15 * _bump(cs, 0.33, 10)
        else:   # plantarflexion after heel strike, dorsiflexion late stance, push-off
            ankle = -4 * _bump(cs, 0.05, 10) + dorsi * _bump(cs, 0.45, 6) - plantar * _bump(cs, 0.64, 10)
            toe = 20 * _bump(cs, 0.55, 10)
        return hip, knee, ankle, toe

    pelvis_speed = _foot_locked_speed(leg, toe_off, roll)         # m per cycle, function of c
    f_t = freq * (1.0 + 0.05 * _smooth_noise(t, rng, fmin=0.05, fmax=0.3))
    dt = t[1] - t[0] if len(t) > 1 else 1.0
    c = _u(rng, 0, 1) + np.cumsum(f_t) * dt                       # continuous cycle count
    _heading_path(t, dt, rng, pelvis_speed(c) * f_t, not run, ch)

    if run:
        arm_a, elbow_base, elbow_a = k * _u(rng, 25, 40), _u(rng, 75, 95), _u(rng, 10, 20)
        ch["pitch"] = ch["pitch"] + _u(rng, 6, 12)
        _add(ch, "spine_flex", _u(rng, 0, 5))
    else:
        arm_a, elbow_base, elbow_a = k * _u(rng, 10, 25), None, _u(rng, 5, 15)
    for s, cs in (("l", c), ("r", c + 0.5)):
        hip, knee, ankle, toe = leg(cs)
        _add(ch, f"hip_flex_{s}", hip)
        _add(ch, f"knee_{s}", knee)
        _add(ch, f"ankle_{s}", ankle)
        _add(ch, f"toe_{s}", toe)
        # arms swing with the opposite leg (this arm is forward when the other leg is)
        co = cs + 0.5
        _add(ch, f"sh_flex_{s}", arm_a * np.cos(2 * np.pi * (co - 0.9)))
        if elbow_base is not None:
            ch[f"elbow_{s}"] = elbow_base
        _add(ch, f"elbow_{s}", elbow_a * _bump(co, 0.9, 1))

    if run:
        bob, sway, pyaw, roll = _u(rng, 0.03, 0.05), _u(rng, 0.005, 0.015), _u(rng, 4, 8), _u(rng, 1, 3)
        # lowest at mid-stance (0.2, 0.7), highest in flight
        ch["off_y"] = -_u(rng, 0.03, 0.06) - bob * np.cos(4 * np.pi * (c - 0.2))
    else:
        bob, sway, pyaw, roll = _u(rng, 0.015, 0.025), _u(rng, 0.015, 0.035), _u(rng, 3, 7), _u(rng, 2, 4)
        # highest at mid-stance (0.3, 0.8)
        ch["off_y"] = -_u(rng, 0.0, 0.015) + bob * np.cos(4 * np.pi * (c - 0.3))
    ch["off_x"] = sway * np.cos(2 * np.pi * (c - 0.3))            # over the stance leg
    ch["pelvis_yaw"] = -pyaw * np.cos(2 * np.pi * c)              # left hip forward at c = 0
    _add(ch, "spine_twist", 0.8 * pyaw * np.cos(2 * np.pi * c))   # thorax counter-rotates
    _add(ch, "neck_yaw", -0.15 * pyaw * np.cos(2 * np.pi * c))
    ch["roll"] = roll * np.cos(2 * np.pi * (c - 0.3))            # swing side of the pelvis drops
    _add(ch, "spine_lat", 0.8 * roll * np.cos(2 * np.pi * (c - 0.3)))


def _walk(t, rng, ch):
    _gait(t, rng, ch, run=False)


def _run(t, rng, ch):
    _gait(t, rng, ch, run=True)


def _turn(t, rng, ch):
    """Turn in place: eased heading changes with alternating small steps while turning."""
    psi = np.zeros_like(t)
    rate = np.zeros_like(t)
    act = np.zeros_like(t)
    start, sign = _u(rng, 0.0, 0.6), rng.choice([-1.0, 1.0])
    while start < t[-1]:
        delta = sign * _u(rng, 45, 200)
        dur = max(0.6, abs(delta) / _u(rng, 70, 140))
        u = (t - start) / dur
        psi += delta * _smootherstep(u)
        inside = (u > 0) & (u < 1)
        uu = np.clip(u, 0, 1)
        rate += np.where(inside, delta * 30.0 * uu**2 * (1 - uu) ** 2 / dur, 0.0)   # d/dt of ease
        act += np.where(inside, np.sin(np.pi * uu) ** 2, 0.0)
        start += dur + _u(rng, 0.3, 1.2)
        sign = sign if rng.random() < 0.6 else -sign
    ch["heading"] = ch["heading"] + psi
    step = 2 * np.pi * _u(rng, 0.8, 1.1) * t + _u(rng, 0, 2 * np.pi)   # each leg steps ~1 Hz
    lift = {"l": act * np.maximum(np.sin(step), 0) ** 2, "r": act * np.maximum(-np.sin(step), 0) ** 2}
    hip, knee = _u(rng, 15, 30), _u(rng, 30, 50)
    for s in "lr":
        _add(ch, f"hip_flex_{s}", hip * lift[s])
        _add(ch, f"knee_{s}", knee * lift[s])
        _add(ch, f"ankle_{s}", 8 * lift[s])
        _add(ch, f"sh_flex_{s}", 6 * (lift["r" if s == "l" else "l"] - lift[s]))
    ch["off_x"] = -0.02 * act * np.sin(step)                      # weight over the stance leg
    ch["off_y"] = -0.01 * act
    _add(ch, "neck_yaw", np.clip(0.12 * rate, -25, 25))           # the head leads the turn
    _add(ch, "spine_twist", np.clip(0.05 * rate, -10, 10))


def _flight_lift(t: np.ndarray, t_to: float, t_f: float, push: float) -> np.ndarray:
    """Pelvis lift (m) of one jump, C1: constant upward acceleration over the last ``push`` s
    before take-off (reaching v0 = g t_f / 2), a ballistic parabola in the air for ``t_f`` s,
    and the mirror-image deceleration after landing."""
    v0 = GRAVITY * t_f / 2.0
    y_e = v0 * push / 2.0
    out = np.zeros_like(t)
    a = (t > t_to - push) & (t < t_to)
    out[a] = 0.5 * v0 / push * (t[a] - (t_to - push)) ** 2
    b = (t >= t_to) & (t <= t_to + t_f)
    tau = t[b] - t_to
    out[b] = y_e + v0 * tau - 0.5 * GRAVITY * tau**2
    c = (t > t_to + t_f) & (t < t_to + t_f + push)
    out[c] = 0.5 * v0 / push * (t_to + t_f + push - t[c]) ** 2
    return out


def _jump(t, rng, ch):
    """Countermovement jumps: crouch, push off, flight (vertical, forward or jumping-jack), land."""
    tl = _Timeline()
    lift = np.zeros_like(t)
    forward = np.zeros_like(t)
    tl.hold(_u(rng, 0.1, 0.5))
    while tl.end < t[-1]:
        style = rng.choice(["vertical", "forward", "jack"], p=[0.45, 0.35, 0.2])
        h = _u(rng, 0.1, 0.35)                      # ballistic rise after take-off, m
        t_f = 2.0 * np.sqrt(2.0 * h / GRAVITY)      # time in the air
        ratio = _u(rng, 0.5, 0.7)
        crouch, land = _u(rng, 30, 60), _u(rng, 20, 45)
        tuck = _u(rng, 5, 30) if style != "jack" else _u(rng, 0, 8)
        t_bottom = tl.end + _u(rng, 0.35, 0.6)
        tl.to(t_bottom - tl.end, thigh=crouch, shin=ratio * crouch, sh_flex_l=-_u(rng, 30, 50),
              sh_flex_r=-_u(rng, 30, 50), spine_flex=_u(rng, 10, 25), pitch=_u(rng, 10, 20))
        if style == "jack":   # arms up sideways, legs apart
            top = dict(sh_down_l=-_u(rng, 30, 60), sh_down_r=-_u(rng, 30, 60), sh_flex_l=0.0,
                       sh_flex_r=0.0, hip_abd_l=_u(rng, 15, 25), hip_abd_r=_u(rng, 15, 25))
        else:                 # arms swing forward and up
            a = _u(rng, 60, 100)
            top = dict(sh_flex_l=a, sh_flex_r=a + _u(rng, -5, 5), sh_down_l=_u(rng, 40, 70),
                       sh_down_r=_u(rng, 40, 70))
        push = _u(rng, 0.18, 0.28)
        tl.to(push, ankle_l=-25.0, ankle_r=-25.0, pitch=_u(rng, 0, 5), **top)
        t_to = tl.end
        tl.to(t_f / 2, _tuck=tuck, ankle_l=-15.0, ankle_r=-15.0, **top)
        tl.to(t_f / 2, thigh=_u(rng, 3, 8), shin=3.0, ankle_l=-10.0, ankle_r=-10.0,
              sh_flex_l=_u(rng, 30, 50), sh_flex_r=_u(rng, 30, 50))
        tl.to(_u(rng, 0.15, 0.3), thigh=land, shin=ratio * land, sh_flex_l=_u(rng, 20, 40),
              sh_flex_r=_u(rng, 20, 40), spine_flex=_u(rng, 5, 15), pitch=_u(rng, 5, 15))
        t_absorb = tl.end
        tl.to(_u(rng, 0.4, 0.7))
        tl.hold(_u(rng, 0.2, 1.0))
        lift += _flight_lift(t, t_to, t_f, push=0.6 * push)
        if style == "forward":
            forward += _u(rng, 0.3, 0.9) * _smootherstep((t - t_bottom) / (t_absorb - t_bottom))
    tl.apply(ch, t)
    tuck = ch.pop("_tuck", 0.0)                     # tucked legs in the air: no pelvis drop
    for s in "lr":
        _add(ch, f"hip_flex_{s}", tuck)
        _add(ch, f"knee_{s}", 1.6 * tuck)
    _leg_chain(ch)
    _add(ch, "off_y", lift)
    psi = np.radians(ch["heading"])
    ch["path_x"], ch["path_z"] = forward * np.sin(psi), forward * np.cos(psi)


def _squat(t, rng, ch):
    """Repeated squats to a random depth, arms forward or hanging for balance."""
    tl = _Timeline()
    arms_forward = rng.random() < 0.6
    ratio = _u(rng, 0.3, 0.42)            # shin tilt / thigh tilt (ankle dorsiflexion limits it)
    while tl.end < t[-1]:
        tl.hold(_u(rng, 0.1, 0.9))
        thigh = _thigh_for_drop(_u(rng, 0.2, 0.5), ratio)
        pose = dict(thigh=thigh, shin=ratio * thigh, pitch=_u(rng, 15, 30) * thigh / 90,
                    spine_flex=_u(rng, 5, 15))
        if arms_forward:
            pose.update(sh_down_l=_u(rng, 85, 95), sh_down_r=_u(rng, 85, 95), sh_flex_l=_u(rng, 60, 90),
                        sh_flex_r=_u(rng, 60, 90), elbow_l=_u(rng, 5, 20), elbow_r=_u(rng, 5, 20))
        tl.to(_u(rng, 0.9, 1.5), **pose)
        tl.hold(_u(rng, 0.05, 0.6))
        tl.to(_u(rng, 0.9, 1.5))
    tl.apply(ch, t)
    _leg_chain(ch)


def _reach(t, rng, ch):
    """Reach forward, up, sideways or low with one or both arms, hold, return."""
    tl = _Timeline()
    while tl.end < t[-1]:
        tl.hold(_u(rng, 0.2, 0.8))
        arm = rng.choice(["l", "r", "lr"], p=[0.4, 0.4, 0.2])
        where = rng.choice(["forward", "up", "side", "low"])
        one = 0.0 if arm == "lr" else (1.0 if arm == "l" else -1.0)   # +1 left arm, -1 right arm
        pose: dict[str, float] = {}
        for s in arm:
            if where in ("forward", "low"):
                pose.update({f"sh_down_{s}": _u(rng, 85, 95),
                             f"sh_flex_{s}": _u(rng, 65, 100) if where == "forward" else _u(rng, 40, 70)})
            elif where == "up":  # raised above horizontal: -sh_flex (+X) now swings it forward
                pose.update({f"sh_down_{s}": -_u(rng, 25, 65), f"sh_flex_{s}": -_u(rng, 15, 40)})
            else:
                pose.update({f"sh_down_{s}": _u(rng, -15, 10), f"sh_flex_{s}": _u(rng, -10, 20)})
            pose[f"elbow_{s}"] = _u(rng, 5, 20)
            pose[f"wrist_{s}"] = _u(rng, -10, 10)
        if where == "forward":
            pose.update(spine_flex=_u(rng, 5, 15), spine_twist=-one * _u(rng, 5, 15))
        elif where == "up":
            pose.update(spine_flex=-_u(rng, 0, 8), neck_flex=-_u(rng, 5, 20))
        elif where == "side":
            pose.update(spine_lat=one * _u(rng, 5, 15))
        else:
            thigh = _u(rng, 25, 50)
            pose.update(thigh=thigh, shin=0.4 * thigh, pitch=_u(rng, 15, 30), spine_flex=_u(rng, 15, 30),
                        spine_twist=-one * _u(rng, 0, 10), neck_flex=_u(rng, 5, 20))
        tl.to(_u(rng, 0.7, 1.3), **pose)
        tl.hold(_u(rng, 0.3, 1.0))
        tl.to(_u(rng, 0.7, 1.2))
    tl.apply(ch, t)
    _leg_chain(ch)


def _wave(t, rng, ch):
    """Raise one (or both) arm(s), forearm up, and wave by oscillating the elbow."""
    tl = _Timeline()
    freq, amp = _u(rng, 1.5, 3.0), _u(rng, 12, 25)
    while tl.end < t[-1]:
        tl.hold(_u(rng, 0.1, 0.8))
        arm = rng.choice(["l", "r", "lr"], p=[0.4, 0.4, 0.2])
        pose: dict[str, float] = {}
        for s in arm:
            # upper arm horizontal, twisted ~-85 deg about X so that elbow flexion (about the
            # twisted Y axis, now ~world -Z) lifts the forearm up; sh_down now swings it forward
            pose.update({f"sh_down_{s}": _u(rng, 0, 25), f"sh_flex_{s}": _u(rng, 75, 90),
                         f"elbow_{s}": _u(rng, 80, 100), f"_env_{s}": 1.0})
        if arm != "lr":
            pose["spine_lat"] = (-1.0 if arm == "l" else 1.0) * _u(rng, 0, 6)
        pose["neck_flex"] = -_u(rng, 0, 10)
        tl.to(_u(rng, 0.5, 0.8), **pose)
        tl.hold(_u(rng, 1.5, 4.0))
        tl.to(_u(rng, 0.5, 0.8))
    tl.apply(ch, t)
    phase = 2 * np.pi * freq * t + _u(rng, 0, 2 * np.pi)
    for s in "lr":
        env = ch.pop(f"_env_{s}", 0.0)
        _add(ch, f"elbow_{s}", amp * env * np.sin(phase))
        _add(ch, f"sh_rot_{s}", 0.3 * amp * env * np.sin(phase))


def _kick(t, rng, ch):
    """Front or side kicks: shift the weight, wind up, kick, recoil, put the foot down."""
    tl = _Timeline()
    while tl.end < t[-1]:
        tl.hold(_u(rng, 0.2, 0.9))
        k = rng.choice(["l", "r"])
        sup = "r" if k == "l" else "l"
        side = 1.0 if k == "l" else -1.0                      # +1 kicking with the left leg
        front = rng.random() < 0.7
        base = {"off_x": -side * _u(rng, 0.04, 0.07), f"knee_{sup}": _u(rng, 8, 15)}
        tl.to(_u(rng, 0.3, 0.5), **base)
        wind = dict(base, **{f"knee_{k}": _u(rng, 70, 100), f"sh_flex_{sup}": _u(rng, 20, 40),
                             f"sh_flex_{k}": -_u(rng, 10, 25)})
        wind[f"hip_flex_{k}"] = -_u(rng, 10, 20) if front else _u(rng, 10, 25)
        tl.to(_u(rng, 0.25, 0.4), **wind)
        if front:
            kick = dict(base, **{f"hip_flex_{k}": _u(rng, 55, 90), f"knee_{k}": _u(rng, 3, 15),
                                 f"ankle_{k}": -_u(rng, 15, 30), f"sh_flex_{sup}": _u(rng, 30, 50),
                                 f"sh_flex_{k}": -_u(rng, 20, 35)},
                        spine_flex=-_u(rng, 5, 12), pitch=-_u(rng, 0, 6))
            recoil = dict(base, **{f"hip_flex_{k}": _u(rng, 30, 50), f"knee_{k}": _u(rng, 60, 90)})
        else:
            kick = dict(base, **{f"hip_abd_{k}": _u(rng, 30, 50), f"hip_flex_{k}": _u(rng, 5, 25),
                                 f"knee_{k}": _u(rng, 3, 15), "sh_down_l": _u(rng, 40, 60),
                                 "sh_down_r": _u(rng, 40, 60)},
                        spine_lat=-side * _u(rng, 10, 20))
            recoil = dict(base, **{f"hip_abd_{k}": _u(rng, 15, 25), f"hip_flex_{k}": _u(rng, 20, 40),
                                   f"knee_{k}": _u(rng, 60, 90)})
        tl.to(_u(rng, 0.15, 0.25), **kick)
        tl.to(_u(rng, 0.2, 0.3), **recoil)
        tl.to(_u(rng, 0.3, 0.5), **base)
        tl.to(_u(rng, 0.3, 0.5))
    tl.apply(ch, t)


def _forward_fold(rng: np.random.Generator, total: float) -> dict[str, float]:
    """Key pose bent forward by ``total`` degrees at the hips and spine, arms hanging (``thigh`` /
    ``shin`` channels: needs ``_leg_chain``)."""
    pitch = _u(rng, 0.45, 0.6) * total
    hang = total * _u(rng, 0.8, 1.0)               # shoulders flex so the arms hang vertically
    thigh = _u(rng, 0, 8)
    return dict(pitch=pitch, spine_flex=total - pitch, sh_flex_l=hang, sh_flex_r=hang,
                sh_down_l=_u(rng, 80, 90), sh_down_r=_u(rng, 80, 90), elbow_l=_u(rng, 5, 15),
                elbow_r=_u(rng, 5, 15), neck_flex=-_u(rng, 10, 30), thigh=thigh,
                shin=thigh + _u(rng, 0, 10), off_z=-_u(rng, 0.05, 0.15) * total / 100)


def _bend(t, rng, ch):
    """Bend forward at the hips and spine (arms hanging), hold, straighten up."""
    tl = _Timeline()
    while tl.end < t[-1]:
        tl.hold(_u(rng, 0.1, 1.0))
        pose = _forward_fold(rng, _u(rng, 50, 100))   # trunk angle from vertical, deg
        tl.to(_u(rng, 1.0, 1.6), **pose)
        tl.hold(_u(rng, 0.5, 1.5))
        tl.to(_u(rng, 1.0, 1.6))
    tl.apply(ch, t)
    _leg_chain(ch)


def _sit_stand(t, rng, ch):
    """Sit down on an (invisible) chair, stay seated, stand up again; trunk leans to rise."""
    tl = _Timeline()
    while tl.end < t[-1]:
        tl.hold(_u(rng, 0.2, 1.0))
        seat = _u(rng, 80, 95)
        down, up = _u(rng, 1.2, 2.0), _u(rng, 1.0, 1.8)
        tl.to(0.55 * down, thigh=0.55 * seat, shin=_u(rng, 10, 20), pitch=_u(rng, 20, 35),
              spine_flex=_u(rng, 10, 20), sh_flex_l=_u(rng, 20, 45), sh_flex_r=_u(rng, 20, 45),
              elbow_l=_u(rng, 10, 30), elbow_r=_u(rng, 10, 30))
        seated = dict(thigh=seat, shin=_u(rng, 0, 12), pitch=_u(rng, -5, 10), spine_flex=_u(rng, 0, 12),
                      sh_flex_l=_u(rng, 15, 35), sh_flex_r=_u(rng, 15, 35), elbow_l=_u(rng, 40, 75),
                      elbow_r=_u(rng, 40, 75), sh_down_l=80.0, sh_down_r=80.0)
        tl.to(0.45 * down, **seated)
        tl.hold(_u(rng, 0.8, 2.0))
        tl.to(0.45 * up, thigh=0.6 * seat, shin=_u(rng, 15, 25), pitch=_u(rng, 25, 40),
              spine_flex=_u(rng, 10, 20), sh_flex_l=_u(rng, 30, 50), sh_flex_r=_u(rng, 30, 50),
              elbow_l=_u(rng, 10, 30), elbow_r=_u(rng, 10, 30))
        tl.to(0.55 * up)
    tl.apply(ch, t)
    _leg_chain(ch)


# ----------------------------------------------------------------------------------------------
# more actions: rhythmic, combat, exercise, acrobatic


def _dance(t, rng, ch):
    """Dance to a beat: side-to-side step-touches, knee bounce, hip sway and rhythmic arm moves."""
    c = _u(rng, 1.6, 2.2) * t + _u(rng, 0, 2)          # beat count (96-132 bpm)
    side = np.sin(np.pi * c)                            # a step to each side every 2 beats; + left
    dx = _u(rng, 0.03, 0.08) * side
    lean = np.degrees(dx / (THIGH + SHIN))              # the feet stay put: the legs lean along
    ch["off_x"] = dx
    knee = _u(rng, 20, 40)
    for s, sg in (("l", 1.0), ("r", -1.0)):
        _add(ch, f"hip_abd_{s}", -sg * lean)
        tap = np.maximum(-sg * side, 0.0) ** 2          # the unloaded leg lifts and taps
        _add(ch, f"hip_flex_{s}", 0.5 * knee * tap)
        _add(ch, f"knee_{s}", knee * tap)
        _add(ch, f"ankle_{s}", -0.3 * knee * tap)
    bounce = _u(rng, 5, 15)
    ch["thigh"] = bounce * (1.0 + np.cos(2 * np.pi * c)) / 2       # down on every beat
    ch["shin"] = 0.5 * ch["thigh"]
    _leg_chain(ch)
    sway, yaw = _u(rng, 3, 8), _u(rng, 0, 10)
    ch["roll"] = sway * side                            # the hip of the unloaded leg drops
    _add(ch, "spine_lat", 0.8 * sway * side)
    ch["pelvis_yaw"] = yaw * np.sin(np.pi * c + _u(rng, 0, np.pi))
    _add(ch, "spine_twist", -0.6 * ch["pelvis_yaw"])
    _add(ch, "neck_flex", _u(rng, 3, 8) * np.cos(2 * np.pi * c))
    style = rng.choice(["swing", "pump", "out"])
    amp = _u(rng, 20, 40)
    for s, sg in (("l", 1.0), ("r", -1.0)):
        if style == "swing":                            # bent arms swing in counter-phase
            ch[f"elbow_{s}"] = _u(rng, 60, 90) + 10 * sg * side
            _add(ch, f"sh_flex_{s}", amp * sg * side)
        elif style == "pump":                           # fists pumped forward-up on the beat
            ch[f"sh_down_{s}"] = _u(rng, 80, 90)
            ch[f"sh_flex_{s}"] = _u(rng, 30, 50) + amp * (1.0 + np.cos(2 * np.pi * c)) / 2
            ch[f"elbow_{s}"] = _u(rng, 70, 100)
        else:                                           # arms out, waving up and down
            ch[f"sh_down_{s}"] = _u(rng, 15, 35) + 0.5 * amp * np.sin(np.pi * c + sg * np.pi / 2)
            ch[f"elbow_{s}"] = _u(rng, 20, 40) + 0.5 * amp * np.sin(np.pi * c)


def _punch(t, rng, ch):
    """Boxing: a staggered guard stance with a light bounce, throwing jabs, crosses and hooks."""
    lead = "l" if rng.random() < 0.75 else "r"          # left lead: orthodox
    rear = "r" if lead == "l" else "l"
    sgn = 1.0 if lead == "l" else -1.0
    stagger, knees = _u(rng, 8, 15), _u(rng, 10, 20)
    guard = {"thigh": knees, "shin": 0.5 * knees, f"hip_flex_{lead}": stagger,
             f"hip_flex_{rear}": -stagger, "pelvis_yaw": -sgn * _u(rng, 15, 30),
             "spine_twist": sgn * _u(rng, 0, 10), "neck_flex": _u(rng, 5, 15)}
    for s in "lr":                                       # fists up by the chin
        guard.update({f"sh_down_{s}": _u(rng, 68, 82), f"sh_flex_{s}": _u(rng, 35, 55),
                      f"elbow_{s}": _u(rng, 105, 130)})
    tl = _Timeline(guard)
    while tl.end < t[-1]:
        tl.hold(_u(rng, 0.3, 1.0))
        for _ in range(int(rng.integers(1, 4))):
            kind = rng.choice(["jab", "cross", "hook"], p=[0.45, 0.35, 0.2])
            arm = rear if kind == "cross" else lead
            pose = dict(guard)
            if kind == "hook":                           # elbow up, forearm across, trunk turns
                pose.update({f"sh_down_{arm}": _u(rng, 5, 20), f"sh_flex_{arm}": _u(rng, 0, 10),
                             f"sh_rot_{arm}": -_u(rng, 20, 40), f"elbow_{arm}": _u(rng, 80, 100),
                             "spine_twist": -sgn * _u(rng, 10, 20),
                             "pelvis_yaw": -sgn * _u(rng, 30, 40)})
            else:                                        # straight punch at shoulder height
                pose.update({f"sh_down_{arm}": _u(rng, 85, 92), f"sh_flex_{arm}": _u(rng, 80, 95),
                             f"elbow_{arm}": _u(rng, 0, 10)})
                if kind == "cross":                      # hips and trunk drive the rear hand
                    pose.update({"pelvis_yaw": sgn * _u(rng, 0, 10),
                                 "spine_twist": sgn * _u(rng, 15, 25), f"ankle_{rear}": -_u(rng, 15, 25)})
                else:
                    pose["spine_twist"] = guard["spine_twist"] - sgn * _u(rng, 5, 10)
            tl.to(_u(rng, 0.2, 0.28), **pose)
            tl.to(_u(rng, 0.22, 0.32), **guard)
    tl.apply(ch, t)
    _add(ch, "thigh", _u(rng, 2, 5) * np.sin(2 * np.pi * _u(rng, 1.5, 2.5) * t + _u(rng, 0, 2 * np.pi)))
    _leg_chain(ch)


def _throw(t, rng, ch):
    """Overarm throw: wind up on the back leg, step toward the target, whip the arm, follow through."""
    arm = "r" if rng.random() < 0.75 else "l"
    lead = "l" if arm == "r" else "r"                    # the leg opposite the throwing arm steps
    sgn = 1.0 if arm == "l" else -1.0                    # +1 throwing with the left arm
    tl = _Timeline()
    z = 0.0                                              # pelvis advance of the throws so far, m
    while tl.end < t[-1]:
        tl.hold(_u(rng, 0.3, 1.0))
        step = _u(rng, 0.3, 0.5)
        cocked = {f"sh_down_{arm}": _u(rng, 0, 15), f"sh_flex_{arm}": _u(rng, 85, 100),
                  f"elbow_{arm}": _u(rng, 80, 100)}      # upper arm to the side, forearm up
        aim = {f"sh_down_{lead}": _u(rng, 80, 90), f"sh_flex_{lead}": _u(rng, 70, 90),
               f"elbow_{lead}": _u(rng, 10, 30)}         # the free arm points at the target
        wind_up = {f"hip_flex_{lead}": _u(rng, 25, 45), f"knee_{lead}": _u(rng, 40, 70),
                   "off_z": z - _u(rng, 0.04, 0.08), "pelvis_yaw": sgn * _u(rng, 25, 40),
                   "spine_twist": sgn * _u(rng, 10, 20)}
        stride = {f"hip_flex_{lead}": _u(rng, 20, 30), f"knee_{lead}": _u(rng, 10, 20),
                  f"hip_flex_{arm}": -_u(rng, 10, 20), "off_y": -_u(rng, 0.04, 0.08)}
        plant = dict(stride, off_z=z + 0.5 * step, pelvis_yaw=sgn * _u(rng, 5, 15),
                     spine_twist=sgn * _u(rng, 15, 25))
        release = dict(stride, off_z=z + 0.7 * step, pelvis_yaw=-sgn * _u(rng, 10, 20),
                       spine_twist=-sgn * _u(rng, 10, 20), spine_flex=_u(rng, 10, 20),
                       pitch=_u(rng, 5, 12), **{f"sh_down_{arm}": _u(rng, 0, 15),
                                                f"sh_flex_{arm}": _u(rng, 20, 40),
                                                f"sh_rot_{arm}": -_u(rng, 20, 40),
                                                f"elbow_{arm}": _u(rng, 15, 35)})
        follow = {"off_z": z + step, "off_y": -_u(rng, 0.05, 0.1), "pelvis_yaw": -sgn * _u(rng, 25, 40),
                  "spine_twist": -sgn * _u(rng, 10, 20), "spine_flex": _u(rng, 25, 40),
                  "pitch": _u(rng, 15, 25), f"hip_flex_{lead}": _u(rng, 20, 30),
                  f"knee_{lead}": _u(rng, 15, 30), f"hip_flex_{arm}": _u(rng, 0, 20),
                  f"knee_{arm}": _u(rng, 40, 70), f"sh_down_{arm}": _u(rng, 70, 85),
                  f"sh_flex_{arm}": _u(rng, 40, 70), f"elbow_{arm}": _u(rng, 20, 40)}
        tl.to(_u(rng, 0.5, 0.8), **wind_up, **cocked, **aim)
        tl.to(_u(rng, 0.25, 0.35), **plant, **cocked, **aim)
        tl.to(_u(rng, 0.2, 0.25), **release)
        tl.to(_u(rng, 0.3, 0.45), **follow)              # the rear foot comes off the floor
        z += step
        tl.to(_u(rng, 0.6, 0.9), off_z=z)                # recover: stand, the rear foot brought up
    tl.apply(ch, t)


def _square_wave(c: np.ndarray, k: float) -> np.ndarray:
    """A smooth (C-inf) square wave of the cycle fraction ``c``: 0 around c = 0, 1 around 0.5;
    ``k`` sharpens the edges."""
    return 0.5 - 0.5 * np.tanh(k * np.cos(2 * np.pi * c)) / np.tanh(k)


def _jumping_jacks(t, rng, ch):
    """Jumping jacks: hop the feet apart while the arms swing up overhead, hop back, repeat."""
    c = t / _u(rng, 0.8, 1.2) + _u(rng, 0, 1)           # jack count: apart and arms up at c = 0.5
    out = _square_wave(c, _u(rng, 1.5, 3.0))
    hop = _bump(2 * c, 0.5, 3)                          # in the air while the feet move
    abd = _u(rng, 15, 25) * out
    for s in "lr":
        _add(ch, f"hip_abd_{s}", abd)
        ch[f"sh_down_{s}"] = ch[f"sh_down_{s}"] + (-_u(rng, 60, 72) - ch[f"sh_down_{s}"]) * out
        ch[f"elbow_{s}"] = ch[f"elbow_{s}"] * (1.0 - 0.7 * out)
        _add(ch, f"collar_{s}", _u(rng, 10, 18) * out)
        _add(ch, f"ankle_{s}", -_u(rng, 15, 25) * hop)   # toes pointed in the air
    ch["thigh"] = _u(rng, 8, 20) * _bump(2 * c, 0.0, 3)   # knees give on landing
    ch["shin"] = 0.6 * ch["thigh"]
    _leg_chain(ch)
    _add(ch, "off_y", _u(rng, 0.04, 0.1) * hop - (THIGH + SHIN) * (1.0 - np.cos(np.radians(abd))))


def _two_link(dz: float, dy: float) -> tuple[float, float]:
    """Thigh angle forward of vertical and knee flexion (deg) that put the ankle ``dz`` m ahead of
    and ``dy`` m below the hip, knee in front (clamped to the reachable range)."""
    d = float(np.clip(np.hypot(dz, dy), abs(THIGH - SHIN) + 0.05, THIGH + SHIN - 1e-6))
    hip = np.arccos((THIGH**2 + d**2 - SHIN**2) / (2 * THIGH * d))
    knee = np.pi - np.arccos((THIGH**2 + SHIN**2 - d**2) / (2 * THIGH * SHIN))
    return float(np.degrees(np.arctan2(dz, dy) + hip)), float(np.degrees(knee))


def _lunge(t, rng, ch):
    """Forward or side lunges, alternating legs: step out, sink, hold, push back to standing."""
    tl = _Timeline()
    lead = rng.choice(["l", "r"])
    hands_on_hips = rng.random() < 0.4
    while tl.end < t[-1]:
        tl.hold(_u(rng, 0.2, 0.8))
        other = "r" if lead == "l" else "l"
        side = 1.0 if lead == "l" else -1.0
        if rng.random() < 0.65:                         # forward: front thigh near horizontal
            a, b = _u(rng, 60, 85), _u(rng, 0, 12)
            drop, back = _squat_drop(a, b)
            z = _u(rng, 0.6, 0.9) - back                 # pelvis ahead of the rear foot
            rear, rear_knee = _two_link(-z, THIGH + SHIN - drop - 0.06)   # rear heel raised
            low = {f"hip_flex_{lead}": a, f"knee_{lead}": a + b, f"ankle_{lead}": b,
                   f"hip_flex_{other}": rear, f"knee_{other}": rear_knee,
                   f"ankle_{other}": -_u(rng, 10, 30), f"toe_{other}": _u(rng, 20, 35),
                   "off_z": z, "off_y": -drop, "pitch": _u(rng, 0, 10)}
            mid = {f"hip_flex_{lead}": _u(rng, 40, 55), f"knee_{lead}": _u(rng, 50, 70),
                   "off_z": 0.3 * z, "off_y": -0.03}
        else:                                           # side: the other leg stays straight
            spread = _u(rng, 28, 42)
            drop = (THIGH + SHIN) * (1.0 - np.cos(np.radians(spread)))
            ratio = _u(rng, 0.4, 0.6)
            a = _thigh_for_drop(drop, ratio)
            _, back = _squat_drop(a, ratio * a)
            low = {f"hip_flex_{lead}": a, f"knee_{lead}": (1 + ratio) * a, f"ankle_{lead}": ratio * a,
                   f"hip_abd_{lead}": _u(rng, 5, 15), f"hip_abd_{other}": spread,
                   "off_x": side * (THIGH + SHIN) * np.sin(np.radians(spread)), "off_y": -drop,
                   "off_z": -back, "pitch": _u(rng, 20, 35), "spine_flex": _u(rng, 0, 10)}
            mid = {f"hip_abd_{lead}": _u(rng, 20, 30), f"hip_flex_{lead}": _u(rng, 20, 30),
                   f"knee_{lead}": _u(rng, 30, 50), "off_x": 0.3 * low["off_x"]}
        for s in "lr":
            if hands_on_hips:
                arms = {f"sh_down_{s}": _u(rng, 60, 75), f"sh_flex_{s}": -_u(rng, 10, 25),
                        f"elbow_{s}": _u(rng, 90, 110)}
            else:                                       # arms forward for balance
                arms = {f"sh_down_{s}": _u(rng, 80, 90), f"sh_flex_{s}": _u(rng, 40, 80),
                        f"elbow_{s}": _u(rng, 5, 25)}
            low.update(arms)
            mid.update(arms)
        down, up = _u(rng, 0.9, 1.3), _u(rng, 0.8, 1.2)
        tl.to(0.4 * down, **mid)
        tl.to(0.6 * down, **low)
        tl.hold(_u(rng, 0.2, 0.6))
        tl.to(0.6 * up, **mid)
        tl.to(0.4 * up)
        lead = other
    tl.apply(ch, t)


def _stretch(t, rng, ch):
    """Stretches held for a while: both arms overhead (on tiptoe), leaning to a side, toe touches."""
    tl = _Timeline()
    while tl.end < t[-1]:
        tl.hold(_u(rng, 0.2, 0.8))
        kind = rng.choice(["overhead", "side", "toes"])
        if kind == "toes":
            pose = _forward_fold(rng, _u(rng, 100, 135))
        else:
            pose = {"spine_flex": -_u(rng, 3, 12), "neck_flex": -_u(rng, 5, 20)}
            arms = "lr"
            if kind == "side":                           # lean left (+1) or right, hips pushed out
                lean = rng.choice([-1.0, 1.0])
                pose.update(spine_lat=lean * _u(rng, 25, 40), neck_lat=lean * _u(rng, 5, 15),
                            off_x=-lean * _u(rng, 0.03, 0.08), roll=lean * _u(rng, 2, 6))
                if rng.random() < 0.5:
                    arms = "r" if lean > 0 else "l"      # only the arm on the outside goes up
            elif rng.random() < 0.5:                     # reach up on tiptoe
                rise = _u(rng, 20, 35)
                pose.update(ankle_l=-rise, ankle_r=-rise, off_y=0.15 * np.sin(np.radians(rise)))
            for s in arms:
                pose.update({f"sh_down_{s}": -_u(rng, 62, 75), f"sh_flex_{s}": -_u(rng, 0, 15),
                             f"elbow_{s}": _u(rng, 0, 10), f"collar_{s}": _u(rng, 10, 20)})
        tl.to(_u(rng, 1.0, 1.6), **pose)
        tl.hold(_u(rng, 1.0, 2.5))
        tl.to(_u(rng, 0.9, 1.4))
    tl.apply(ch, t)
    _leg_chain(ch)


def _cartwheel(t, rng, ch):
    """Cartwheels: arms up, wheel sideways over the hands in a straddle (a full turn), land, stand."""
    tl = _Timeline()
    x, roll = 0.0, 0.0                                   # sideways travel (m), turn (deg) so far
    while tl.end < t[-1]:
        tl.hold(_u(rng, 0.2, 0.8))
        side = rng.choice([-1.0, 1.0])                   # +1: to the subject's left
        lead = "l" if side > 0 else "r"
        arms = {}
        for s in "lr":
            arms.update({f"sh_down_{s}": -_u(rng, 50, 65), f"elbow_{s}": _u(rng, 0, 10),
                         f"collar_{s}": _u(rng, 5, 15)})
        tl.to(_u(rng, 0.4, 0.6), off_x=x + 0.1 * side, roll=roll, **{f"hip_abd_{lead}": _u(rng, 15, 25)},
              **arms)
        dist, quarter = _u(rng, 1.2, 1.7), _u(rng, 0.35, 0.48)
        spread = _u(rng, 35, 50)
        # pelvis height: on one hand (90, 270 deg), in a straddled handstand (180), landing (360)
        lift = (-_u(rng, 0.02, 0.08), _u(rng, 0.05, 0.12), -_u(rng, 0.02, 0.08), -_u(rng, 0.0, 0.05))
        for k in range(1, 5):
            tl.to(quarter, roll=roll - side * 90 * k, off_x=x + side * dist * (0.1 + 0.8 * k / 4),
                  off_y=lift[k - 1], hip_abd_l=spread if k < 4 else 0.5 * spread,
                  hip_abd_r=spread if k < 4 else 0.5 * spread, **arms)
        roll -= side * 360
        x += side * dist
        tl.to(_u(rng, 0.5, 0.8), off_x=x, roll=roll)
    tl.apply(ch, t)
    _add(ch, "hip_abd_l", ch["roll"])                    # the legs turn with the pelvis
    _add(ch, "hip_abd_r", -ch["roll"])


# ----------------------------------------------------------------------------------------------
# on the floor: hands and knees, lying, rolling over, getting down and up

_KNEEL_Y = THIGH + 0.06 - PELVIS_HEIGHT     # m, pelvis offset on hands and knees
_LIE_Y = 0.17 - PELVIS_HEIGHT               # m, pelvis offset lying on the back or front
_SIT_Y = 0.12 - PELVIS_HEIGHT               # m, pelvis offset sitting on the floor


def _all_fours(rng: np.random.Generator) -> dict[str, float]:
    """Key pose on hands and knees: thighs and arms about vertical, trunk about horizontal."""
    trunk = _u(rng, 70, 80)                              # trunk angle from vertical, deg
    spine = _u(rng, -8, 10)
    pose = dict(pitch=trunk - spine, spine_flex=spine, neck_flex=-_u(rng, 40, 70),
                off_y=_KNEEL_Y + _u(rng, -0.02, 0.02))
    for s in "lr":
        pose.update({f"hip_flex_{s}": _u(rng, -5, 8), f"hip_abd_{s}": _u(rng, 3, 10),
                     f"knee_{s}": _u(rng, 92, 100), f"ankle_{s}": -_u(rng, 50, 55),
                     f"sh_down_{s}": _u(rng, 82, 92), f"sh_flex_{s}": trunk + _u(rng, -4, 6),
                     f"elbow_{s}": _u(rng, 0, 10), f"forearm_{s}": -_u(rng, 65, 80),
                     f"wrist_{s}": _u(rng, 55, 65)})          # palms flat, fingers forward
    return pose


def _lying(rng: np.random.Generator, face_up: bool, arms: str) -> dict[str, float]:
    """Key pose lying on the back or front, legs straight; ``arms`` along the ``"sides"``,
    ``"overhead"`` or ``"bent"`` up beside the head, on the floor."""
    tilt = -90.0 if face_up else 90.0
    pose = dict(pitch=tilt + _u(rng, -3, 3), spine_flex=_u(rng, -5, 5), neck_flex=-_u(rng, 0, 15),
                off_y=_LIE_Y)
    for s in "lr":
        pose.update({f"hip_flex_{s}": -tilt + _u(rng, -2, 2), f"hip_abd_{s}": _u(rng, 0, 4),
                     f"knee_{s}": _u(rng, 0, 3 if face_up else 10), f"ankle_{s}": -_u(rng, 15, 40),
                     f"wrist_{s}": 0.0})
        if arms == "overhead":
            pose.update({f"sh_down_{s}": -_u(rng, 72, 78), f"collar_{s}": _u(rng, 15, 20),
                         f"sh_flex_{s}": _u(rng, -3, 3), f"elbow_{s}": _u(rng, 5, 15)})
        elif arms == "bent":     # upper arm out to the side, twisted so the elbow bends headward
            pose.update({f"sh_down_{s}": _u(rng, 5, 25), f"sh_flex_{s}": _u(rng, 80, 90),
                         f"elbow_{s}": _u(rng, 80, 110)})
        else:
            pose.update({f"sh_down_{s}": _u(rng, 78, 88), f"sh_flex_{s}": _u(rng, -3, 3),
                         f"elbow_{s}": _u(rng, 5, 20)})
    return pose


def _crawl(t, rng, ch):
    """Crawl forward on hands and knees, each knee swinging with the opposite hand."""
    ch.update(_all_fours(rng))
    dt = t[1] - t[0] if len(t) > 1 else 1.0
    f_t = _u(rng, 0.5, 0.9) * (1.0 + 0.05 * _smooth_noise(t, rng, fmin=0.05, fmax=0.3))
    c = _u(rng, 0, 1) + np.cumsum(f_t) * dt              # crawl cycles
    hip_a, arm_a = _u(rng, 12, 20), _u(rng, 8, 14)
    stride = 2.0 * THIGH * np.sin(np.radians(hip_a))      # knee travel per cycle, m
    _heading_path(t, dt, rng, stride * f_t, False, ch)
    for s, cs in (("l", c), ("r", c + 0.5)):
        swing = hip_a * np.sin(2 * np.pi * cs)                      # forward around cs = 0
        _add(ch, f"hip_flex_{s}", swing)
        _add(ch, f"knee_{s}", swing + 10 * _bump(cs, 0.0, 2))      # shin level; lifts in the swing
        _add(ch, f"sh_flex_{s}", arm_a * np.sin(2 * np.pi * (cs + 0.5)))
        _add(ch, f"elbow_{s}", 15 * _bump(cs + 0.5, 0.0, 2))
    sway = _u(rng, 2, 5)
    ch["roll"] = sway * np.sin(2 * np.pi * c)
    _add(ch, "spine_lat", 0.5 * sway * np.sin(2 * np.pi * c))
    ch["pelvis_yaw"] = _u(rng, 2, 6) * np.cos(2 * np.pi * c)
    _add(ch, "off_y", 0.01 * np.cos(4 * np.pi * c))


def _roll(t, rng, ch):
    """Lying on the floor, roll over about the body's long axis, half a turn to 1.5 turns at a time."""
    ch.update(_lying(rng, face_up=False, arms="overhead"))
    ch["spin"] = spin = 180.0 * rng.integers(0, 2)       # start face down or face up
    tl = _Timeline()
    while tl.end < t[-1]:
        tl.hold(_u(rng, 0.3, 1.2))
        turn = rng.choice([-1.0, 1.0]) * 180.0 * rng.integers(1, 4)
        spin += turn
        tl.to(abs(turn) / 180.0 * _u(rng, 0.9, 1.4), spin=spin)
    tl.apply(ch, t)
    phi = np.radians(ch["spin"])
    ch["off_x"] = -0.14 * (phi - phi[0])                 # rolls on a ~14 cm radius, no slipping
    _add(ch, "off_y", 0.08 * np.sin(phi) ** 2)           # higher on the side (shoulder width)


def _floor_keys(rng: np.random.Generator) -> tuple[list[float], list[dict[str, float]]]:
    """Durations and key poses from standing (``{}``) down to lying on the front (through hands
    and knees) or on the back (through sitting)."""
    crouch = _u(rng, 75, 95)
    poses: list[dict[str, float]] = [{}, dict(
        thigh=crouch, shin=_u(rng, 0.4, 0.5) * crouch, pitch=_u(rng, 30, 45), spine_flex=_u(rng, 10, 20),
        sh_down_l=_u(rng, 80, 90), sh_down_r=_u(rng, 80, 90), sh_flex_l=_u(rng, 50, 70),
        sh_flex_r=_u(rng, 50, 70), elbow_l=_u(rng, 10, 20), elbow_r=_u(rng, 10, 20))]
    if rng.random() < 0.5:                               # face down
        z = _u(rng, 0.3, 0.4)
        poses += [dict(_all_fours(rng), off_z=z),
                  dict(_lying(rng, face_up=False, arms="bent"), off_z=z + _u(rng, 0.2, 0.35))]
    else:                                                # sit, lean back on the elbows, lie
        z = -_u(rng, 0.3, 0.45)
        sit = dict(pitch=-_u(rng, 10, 25), spine_flex=_u(rng, 5, 20), off_y=_SIT_Y, off_z=z)
        elbows = dict(pitch=-_u(rng, 60, 70), spine_flex=_u(rng, 0, 10), off_y=_SIT_Y, off_z=z - 0.05)
        for s in "lr":
            thigh, knee = _two_link(_u(rng, 0.6, 0.72), 0.04)     # feet flat, ankles 8 cm up
            legs = {f"hip_flex_{s}": thigh, f"knee_{s}": knee, f"ankle_{s}": knee - thigh}
            # arm angles: the upper arm's forward swing from the vertical in the world, minus the
            # trunk's forward tilt; hands behind on the floor, then the forearms on the floor
            sit.update(legs, **{f"sh_down_{s}": _u(rng, 70, 85), f"elbow_{s}": _u(rng, 0, 15),
                                f"sh_flex_{s}": -_u(rng, 35, 50) + sit["pitch"] + sit["spine_flex"]})
            elbows.update(legs, **{f"sh_down_{s}": _u(rng, 80, 88), f"elbow_{s}": _u(rng, 95, 110),
                                   f"sh_flex_{s}": -_u(rng, 0, 10) + elbows["pitch"]
                                   + elbows["spine_flex"]})
        lie = _lying(rng, face_up=True, arms="overhead" if rng.random() < 0.3 else "sides")
        poses += [sit, elbows, dict(lie, off_z=z - _u(rng, 0.05, 0.15))]
    durations = [_u(rng, 0.6, 1.0) for _ in poses[1:]]
    return durations, poses


def _floor_transition(t, rng, ch, up: bool) -> None:
    """Get down from standing to lying on the floor (or, ``up``, the same key poses backward)."""
    durations, poses = _floor_keys(rng)
    if up:
        durations, poses = durations[::-1], poses[::-1]
    tl = _Timeline(poses[0])
    tl.hold(_u(rng, 0.2, 1.0))
    for duration, pose in zip(durations, poses[1:]):
        tl.to(duration, **pose)
    tl.apply(ch, t)
    _leg_chain(ch)


def _lie_down(t, rng, ch):
    """From standing down to lying: on the front via hands and knees, or on the back via sitting."""
    _floor_transition(t, rng, ch, up=False)


def _get_up(t, rng, ch):
    """From lying on the floor up to standing (lie_down's key poses in reverse order)."""
    _floor_transition(t, rng, ch, up=True)


_ACTION_FNS: dict[str, Callable[[np.ndarray, np.random.Generator, dict], None]] = {
    "walk": _walk, "run": _run, "jump": _jump, "squat": _squat, "turn": _turn, "reach": _reach,
    "wave": _wave, "kick": _kick, "bend": _bend, "sit_stand": _sit_stand, "crawl": _crawl,
    "roll": _roll, "get_up": _get_up, "lie_down": _lie_down, "dance": _dance, "punch": _punch,
    "throw": _throw, "jumping_jacks": _jumping_jacks, "lunge": _lunge, "stretch": _stretch,
    "cartwheel": _cartwheel,
}
_PERIODIC = {"walk", "run", "crawl", "dance", "jumping_jacks"}   # phase-driven, random start phase
_ON_THE_FLOOR = {"crawl", "roll", "get_up", "lie_down"}          # never blended with another action


# ----------------------------------------------------------------------------------------------
# public API


def generate_motion(action: str, n_frames: int, fps: float, rng: np.random.Generator) -> dict:
    """Procedural motion of one action.

    Returns ``{"pose": (T, 72) float32 SMPL axis-angle, "trans": (T, 3) float32 world meters,
    "action": str}`` (conventions in the module docstring). Key-pose actions start at a random
    point (0-1 s) of their timeline, so short clips see different phases.
    """
    if action not in _ACTION_FNS:
        raise ValueError(f"unknown action {action!r}; expected one of {', '.join(ACTIONS)}")
    if int(n_frames) < 1 or not fps > 0:
        raise ValueError(f"need n_frames >= 1 and fps > 0, got n_frames={n_frames}, fps={fps}")
    n = int(n_frames)
    skip = 0 if action in _PERIODIC else int(round(_u(rng, 0.0, 1.0) * fps))
    T = n + skip
    t = np.arange(T, dtype=np.float64) / float(fps)

    ch: dict = _rest_channels(rng)
    ch["heading"] = _u(rng, -180, 180)
    _ACTION_FNS[action](t, rng, ch)
    # natural variation: slow low-amplitude noise on the root and every joint
    _add(ch, "heading", 1.5 * _smooth_noise(t, rng))
    _add(ch, "pitch", 1.0 * _smooth_noise(t, rng))
    _add(ch, "roll", 1.0 * _smooth_noise(t, rng))
    euler, root, trans = _compose(ch, T)
    euler[:, 1:] += np.radians(_NOISE_DEG[1:, None] * _smooth_noise(t, rng, (NUM_SMPL_JOINTS - 1, 3)))
    trans += 0.005 * _smooth_noise(t, rng, (3,))
    euler[:, 1:] = _soft_clip(euler[:, 1:], _LO[1:], _HI[1:], np.radians(6.0))
    pose = euler_to_pose(euler, root)[skip:]
    trans = trans[skip:]
    trans[:, [0, 2]] -= trans[0, [0, 2]]
    return {"pose": pose.astype(np.float32), "trans": trans.astype(np.float32), "action": action}


def _heading_of(root_rotvec: np.ndarray) -> np.ndarray:
    """Yaw (rad) of the facing direction R @ +Z projected on the ground."""
    fwd = Rotation.from_rotvec(root_rotvec).as_matrix()[:, :, 2]
    return np.arctan2(fwd[:, 0], fwd[:, 2])


def blend_motions(a: dict, b: dict, start: int, overlap: int) -> dict:
    """Concatenate motion ``b`` after frame ``start`` of ``a`` with a smooth cross-fade.

    ``b`` is rotated about +Y and moved on the ground so that it starts where and facing as ``a``
    is at ``start``; over ``overlap`` frames the poses are slerped per joint and the translations
    lerped with quintic weights. Result length: ``start + len(b)``; ``a`` needs ``start +
    overlap`` frames.
    """
    pa, ta = np.asarray(a["pose"], np.float64), np.asarray(a["trans"], np.float64)
    pb, tb = np.asarray(b["pose"], np.float64).copy(), np.asarray(b["trans"], np.float64).copy()
    overlap = int(min(overlap, len(pb), len(pa) - start))
    if start < 0 or overlap < 0 or start + overlap > len(pa):
        raise ValueError("blend_motions: start/overlap outside motion a")
    dyaw = _heading_of(pa[start:start + 1, :3])[0] - _heading_of(pb[:1, :3])[0]
    rot = Rotation.from_euler("y", dyaw)
    pb[:, :3] = (rot * Rotation.from_rotvec(pb[:, :3])).as_rotvec()
    tb_rel = tb - tb[:1] * np.array([1.0, 0.0, 1.0])
    tb = rot.apply(tb_rel) + ta[start] * np.array([1.0, 0.0, 1.0])

    n = start + len(pb)
    pose = np.concatenate([pa[:start], pb], axis=0)
    trans = np.concatenate([ta[:start], tb], axis=0)
    if overlap > 0:
        w = _smootherstep(np.arange(1, overlap + 1) / (overlap + 1.0))
        ra = Rotation.from_rotvec(pa[start:start + overlap].reshape(-1, 3))
        rb = Rotation.from_rotvec(pb[:overlap].reshape(-1, 3))
        ww = np.repeat(w, NUM_SMPL_JOINTS)[:, None]
        mix = ra * Rotation.from_rotvec(ww * (ra.inv() * rb).as_rotvec())
        pose[start:start + overlap] = mix.as_rotvec().reshape(overlap, 72)
        trans[start:start + overlap] = ((1 - w)[:, None] * ta[start:start + overlap]
                                        + w[:, None] * tb[:overlap])
        pose = clip_to_limits(pose)
    assert len(pose) == n
    return {"pose": pose.astype(np.float32), "trans": trans.astype(np.float32),
            "action": f"{a['action']}>{b['action']}"}


def _weighted_action(rng: np.random.Generator, actions) -> str:
    w = np.array([ACTION_WEIGHTS[a] for a in actions])
    return str(actions[rng.choice(len(actions), p=w / w.sum())])


def random_motion(n_frames: int, fps: float, rng: np.random.Generator) -> dict:
    """A random action (drawn with :data:`ACTION_WEIGHTS`), or (35 % of clips of 3 s or more) two actions blended: ``"walk>squat"``.

    Actions on the floor (crawl, roll, get_up, lie_down) are never blended: a short cross-fade
    between lying and standing would be a fall or a leap. Returns the same dict as
    ``generate_motion``.
    """
    n = int(n_frames)
    first = _weighted_action(rng, ACTIONS)
    if n < 3 * fps or first in _ON_THE_FLOOR or rng.random() >= 0.35:
        return generate_motion(first, n, fps, rng)
    second = _weighted_action(rng, [a for a in ACTIONS if a != first and a not in _ON_THE_FLOOR])
    overlap = int(round(_u(rng, 0.4, 0.8) * fps))
    start = int(rng.integers(n // 3, 2 * n // 3 + 1))
    a = generate_motion(first, start + overlap, fps, rng)
    b = generate_motion(second, n - start, fps, rng)
    return blend_motions(a, b, start, overlap)
