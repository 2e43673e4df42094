"""The restricted unpickler for official SMPL files (chumpy inside, Python 2 pickles)."""

import pickle
import sys
import types

import numpy as np
import pytest
import scipy.sparse as sp

from hmr.body.smpl import BodyModelError, load_smpl_pickle


def _fake_module(monkeypatch, module, name, cls):
    """Make ``module.name`` importable (for pickling) for the duration of one test."""
    package = module.split(".")[0]
    monkeypatch.setitem(sys.modules, package, types.ModuleType(package))
    mod = types.ModuleType(module)
    cls.__module__, cls.__qualname__, cls.__name__ = module, name, name
    setattr(mod, name, cls)
    monkeypatch.setitem(sys.modules, module, mod)


@pytest.fixture()
def fake_chumpy(monkeypatch):
    """A class that pickles like chumpy.ch.Ch: a plain object whose state holds 'x'."""

    class Ch:
        def __init__(self, x):
            self.x = x

        def __getstate__(self):
            return {"x": self.x, "_dirty_vars": set()}

    _fake_module(monkeypatch, "chumpy.ch", "Ch", Ch)
    return Ch


def _official_like(wrap=np.asarray, V=40, F=20):
    rng = np.random.default_rng(0)
    J = rng.random((24, V))
    return {
        "v_template": rng.normal(size=(V, 3)),
        "shapedirs": wrap(rng.normal(size=(V, 3, 10))),
        "posedirs": rng.normal(size=(V, 3, 207)),
        "J_regressor": sp.csc_matrix(J / J.sum(1, keepdims=True)),
        "weights": wrap(np.full((V, 24), 1 / 24)),
        "kintree_table": np.array([[4294967295] + [0] * 23, list(range(24))], dtype=np.uint32),
        "f": rng.integers(0, V, size=(F, 3)).astype(np.uint32),
        "bs_type": "lrotmin",
        "bs_style": "lbs",
        "J": rng.normal(size=(24, 3)),
    }


def test_official_format_with_chumpy_objects_loads(tmp_path, monkeypatch, fake_chumpy):
    model = _official_like(wrap=fake_chumpy)
    path = tmp_path / "SMPL_NEUTRAL.pkl"
    path.write_bytes(pickle.dumps(model, protocol=2))
    monkeypatch.delitem(sys.modules, "chumpy.ch")  # chumpy is not importable at load time
    monkeypatch.delitem(sys.modules, "chumpy")
    loaded = load_smpl_pickle(path)
    np.testing.assert_array_equal(loaded["shapedirs"], model["shapedirs"].x)
    np.testing.assert_array_equal(loaded["weights"], model["weights"].x)
    np.testing.assert_allclose(loaded["J_regressor"], model["J_regressor"].toarray())
    assert isinstance(loaded["J_regressor"], np.ndarray)
    assert loaded["bs_style"] == "lbs"


class Evil:
    def __reduce__(self):
        return (print, ("pwned",))


def test_any_other_class_is_refused(tmp_path):
    model = _official_like()
    model["extra"] = Evil()
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(model, protocol=2))
    with pytest.raises(BodyModelError, match=r"evil\.pkl: refusing to unpickle class (__builtin__|builtins)\.print"):
        load_smpl_pickle(path)


def test_custom_class_is_refused(tmp_path, monkeypatch):
    class Thing:
        pass

    _fake_module(monkeypatch, "mypkg.things", "Thing", Thing)
    path = tmp_path / "thing.pkl"
    path.write_bytes(pickle.dumps({"v_template": Thing()}, protocol=2))
    with pytest.raises(BodyModelError, match=r"refusing to unpickle class mypkg\.things\.Thing"):
        load_smpl_pickle(path)


def test_missing_keys_and_bad_shapes(tmp_path):
    model = _official_like()
    del model["weights"]
    path = tmp_path / "partial.pkl"
    path.write_bytes(pickle.dumps(model))
    with pytest.raises(BodyModelError, match=r"partial\.pkl: not an SMPL model, missing weights"):
        load_smpl_pickle(path)
    model = _official_like()
    model["J_regressor"] = np.zeros((17, 40))
    path.write_bytes(pickle.dumps(model))
    with pytest.raises(BodyModelError, match=r"'J_regressor' has shape \(17, 40\), expected \(24, 40\)"):
        load_smpl_pickle(path)
    path.write_bytes(b"garbage")
    with pytest.raises(BodyModelError, match="not a readable SMPL pickle"):
        load_smpl_pickle(path)
    with pytest.raises(BodyModelError, match="not found"):
        load_smpl_pickle(tmp_path / "none.pkl")
