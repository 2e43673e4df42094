"""Loading SMPL-format body models, and the one function every stage gets its SMPL layer from.

Official SMPL ``.pkl`` files were pickled under Python 2 with ``chumpy`` objects inside
(chumpy does not import on Python 3.11). :class:`RestrictedUnpickler` maps chumpy objects to
numpy arrays and allows only numpy and scipy.sparse reconstruction besides; any other class is
refused with one line naming the file and the class, so a model file cannot run code.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hmr.body.joints import NUM_BETAS, NUM_SMPL_JOINTS
from hmr.errors import InputError

REQUIRED_KEYS = ("v_template", "shapedirs", "posedirs", "J_regressor", "weights",
                 "kintree_table", "f")


class BodyModelError(InputError):
    """A body model file is missing, unsafe, or not in SMPL's format."""


class _ChumpyStandIn:
    """Receives a chumpy object's pickled state; its value is the array in state['x']."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.state: Any = None

    def __setstate__(self, state: Any) -> None:
        self.state = state

    def to_array(self) -> np.ndarray:
        state = self.state
        if isinstance(state, dict):
            for key in ("x", "a", "r"):
                if key in state:
                    return _to_numpy(state[key])
        raise BodyModelError(f"chumpy object without a stored value (state keys: "
                             f"{sorted(state) if isinstance(state, dict) else type(state).__name__})")


def _reconstruct_object(cls: type, base: type, state: Any) -> Any:
    """Stand-in for ``copyreg._reconstructor`` restricted to already-allowed classes."""
    obj = object.__new__(cls)
    if state is not None and hasattr(obj, "__setstate__"):
        obj.__setstate__(state)
    return obj


def _new_object(cls: type, *args: Any) -> Any:
    """Stand-in for ``copyreg.__newobj__`` restricted to already-allowed classes."""
    return cls.__new__(cls, *args)


def _encode_latin1(text: str, encoding: str = "latin1") -> bytes:
    """Stand-in for ``_codecs.encode`` that only turns text into bytes."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise BodyModelError(f"refusing _codecs.encode({type(text).__name__}, {encoding!r})")
    return text.encode("latin1")


def _allowed_classes() -> dict[tuple[str, str], Any]:
    import scipy.sparse as sp

    multiarray = np.core.multiarray  # numpy 1.x; numpy 2 pickles name numpy._core
    allowed: dict[tuple[str, str], Any] = {}
    for mod in ("numpy.core.multiarray", "numpy._core.multiarray"):
        allowed[(mod, "_reconstruct")] = multiarray._reconstruct
        allowed[(mod, "scalar")] = multiarray.scalar
    allowed[("numpy", "ndarray")] = np.ndarray
    allowed[("numpy", "dtype")] = np.dtype
    for kind in ("csc", "csr", "coo"):
        cls = getattr(sp, f"{kind}_matrix")
        allowed[("scipy.sparse", f"{kind}_matrix")] = cls
        allowed[(f"scipy.sparse.{kind}", f"{kind}_matrix")] = cls
        allowed[(f"scipy.sparse._{kind}", f"{kind}_matrix")] = cls
    for mod in ("copy_reg", "copyreg"):
        allowed[(mod, "_reconstructor")] = _reconstruct_object
        allowed[(mod, "__newobj__")] = _new_object
    for mod in ("__builtin__", "builtins"):
        allowed[(mod, "object")] = object
        allowed[(mod, "set")] = set  # chumpy keeps sets of names in its state
        allowed[(mod, "frozenset")] = frozenset
    # Python 3 pickles of protocol <= 2 rebuild numpy's raw bytes with _codecs.encode(str, enc)
    allowed[("_codecs", "encode")] = _encode_latin1
    return allowed


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler for SMPL model files: numpy, scipy.sparse and chumpy (as arrays) only."""

    def __init__(self, file: Any, path: str) -> None:
        super().__init__(file, encoding="latin1")
        self._path = path
        self._allowed = _allowed_classes()

    def find_class(self, module: str, name: str) -> Any:
        if module == "chumpy" or module.startswith("chumpy."):
            return _ChumpyStandIn
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise BodyModelError(f"{self._path}: refusing to unpickle class {module}.{name} "
                                 "(only numpy, scipy.sparse and chumpy arrays are allowed)") from None


def _to_numpy(value: Any) -> Any:
    if isinstance(value, _ChumpyStandIn):
        return value.to_array()
    if hasattr(value, "toarray") and callable(value.toarray):  # scipy.sparse
        return np.asarray(value.toarray())
    if isinstance(value, np.ndarray):
        return value
    if isinstance(value, dict):
        return {k: _to_numpy(v) for k, v in value.items()}
    return value


def load_smpl_pickle(path: str | os.PathLike) -> dict[str, Any]:
    """Load an SMPL-format ``.pkl`` (official or embedded) into plain numpy arrays, checked."""
    path = Path(path)
    if not path.exists():
        raise BodyModelError(f"{path}: body model file not found")
    try:
        with open(path, "rb") as fh:
            raw = RestrictedUnpickler(fh, str(path)).load()
    except BodyModelError:
        raise
    except Exception as exc:  # truncated or not a pickle
        raise BodyModelError(f"{path}: not a readable SMPL pickle ({exc.__class__.__name__}: {exc})") from None
    if not isinstance(raw, dict):
        raise BodyModelError(f"{path}: expected a dict of arrays, got {type(raw).__name__}")
    model = {str(k): _to_numpy(v) for k, v in raw.items()}
    check_smpl_arrays(model, str(path))
    return model


def check_smpl_arrays(model: dict[str, Any], where: str) -> None:
    """Check the keys and mutual shapes of an SMPL-format model."""
    missing = [k for k in REQUIRED_KEYS if k not in model]
    if missing:
        raise BodyModelError(f"{where}: not an SMPL model, missing {', '.join(missing)}")
    V = np.asarray(model["v_template"]).shape[0]
    expect = {"v_template": (V, 3), "weights": (V, NUM_SMPL_JOINTS),
              "J_regressor": (NUM_SMPL_JOINTS, V), "kintree_table": (2, NUM_SMPL_JOINTS)}
    for key, shape in expect.items():
        got = np.asarray(model[key]).shape
        if got != shape:
            raise BodyModelError(f"{where}: '{key}' has shape {got}, expected {shape}")
    sd = np.asarray(model["shapedirs"]).shape
    if len(sd) != 3 or sd[:2] != (V, 3) or sd[2] < NUM_BETAS:
        raise BodyModelError(f"{where}: 'shapedirs' has shape {sd}, expected ({V}, 3, >={NUM_BETAS})")
    pd_ = np.asarray(model["posedirs"]).shape
    if pd_ != (V, 3, 207):
        raise BodyModelError(f"{where}: 'posedirs' has shape {pd_}, expected ({V}, 3, 207)")
    f = np.asarray(model["f"])
    if f.ndim != 2 or f.shape[1] != 3 or f.max() >= V or f.min() < 0:
        raise BodyModelError(f"{where}: 'f' must be (F, 3) vertex indices below {V}")
    vids = model.get("vertex_ids")
    if vids is not None and max(int(i) for i in vids.values()) >= V:
        raise BodyModelError(f"{where}: 'vertex_ids' index out of range for {V} vertices")


@functools.lru_cache(maxsize=4)
def _cached_model(path: str, mtime: float) -> dict[str, Any]:
    return load_smpl_pickle(path)


def smpl_layer(path: str | os.PathLike, device: str = "cpu", num_betas: int = NUM_BETAS):
    """The SMPL layer (``smplx.SMPL``) for the model file ``path``; every stage calls this.

    Works for official SMPL pickles and for the embedded anny-derived model alike; a model
    that carries its own ``vertex_ids`` (a different vertex count than SMPL's 6,890) gets
    smplx's extra joints (nose, eyes, ears, toes, heels, finger tips) from them.
    """
    import smplx
    from smplx.utils import Struct

    path = Path(path)
    model = _cached_model(str(path.resolve()), path.stat().st_mtime if path.exists() else 0.0)
    arrays = {k: v for k, v in model.items() if k in REQUIRED_KEYS}
    arrays["kintree_table"] = np.asarray(arrays["kintree_table"]).astype(np.int64)
    with contextlib.redirect_stdout(io.StringIO()):  # smplx prints a warning for 10 betas
        layer = smplx.SMPL(model_path=str(path.parent), data_struct=Struct(**arrays),
                           vertex_ids=model.get("vertex_ids"), num_betas=num_betas,
                           create_global_orient=False, create_body_pose=False,
                           create_betas=False, create_transl=False)
    return layer.to(device)


def smpl_forward(layer, pose: np.ndarray, betas: np.ndarray, trans: np.ndarray | None = None,
                 batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Run an SMPL layer on numpy parameters, in batches, without gradients.

    ``pose`` (T,72) axis-angle, ``betas`` (T,10) or (10,), ``trans`` (T,3) or None. Returns vertices
    (T,V,3) and smplx's joints (T,45,3): SMPL's 24 joints, then nose, right/left eye, right/left ear,
    6 foot points and 10 finger tips (see :mod:`hmr.body.joint_sets`).
    """
    pose = np.asarray(pose, np.float32).reshape(-1, 72)
    T = len(pose)
    betas = np.broadcast_to(np.asarray(betas, np.float32), (T, layer.num_betas)).copy()
    trans = np.zeros((T, 3), np.float32) if trans is None else np.asarray(trans, np.float32)
    device = layer.v_template.device
    verts, joints = [], []
    with torch.no_grad():
        for i in range(0, max(T, 1), batch_size):
            s = slice(i, i + batch_size)
            out = layer(global_orient=torch.as_tensor(pose[s, :3], device=device),
                        body_pose=torch.as_tensor(pose[s, 3:], device=device),
                        betas=torch.as_tensor(betas[s], device=device),
                        transl=torch.as_tensor(trans[s], device=device))
            verts.append(out.vertices.cpu().numpy())
            joints.append(out.joints.cpu().numpy())
    return np.concatenate(verts), np.concatenate(joints)
