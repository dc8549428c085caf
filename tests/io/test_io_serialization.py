"""save/load: safetensors round trips, pickle refusal, atomic writes."""

import os
import pickle
import zipfile

import numpy as np
import pytest
import safetensors.numpy

import lamina
from lamina import io
from lamina.nn import Module, Parameter


def test_state_dict_round_trip_is_plain_safetensors(tmp_path):
    sd = {"fc1.weight": np.arange(6, dtype=np.float32).reshape(2, 3),
          "fc1.bias": np.zeros(2, np.float32), "bn.num_batches_tracked": np.array(7),
          "mask": np.array([True, False]), "w64": np.ones(3),
          "scalar": np.array(2.5, np.float32), "strided": np.ones((4, 4))[:, ::2]}
    path = tmp_path / "w.safetensors"
    io.save(sd, path)
    out = io.load(path)
    assert list(out) == list(sd)
    for k, v in sd.items():
        assert out[k].dtype == v.dtype and out[k].shape == v.shape
        np.testing.assert_array_equal(out[k], v)
    raw = safetensors.numpy.load_file(str(path))  # any safetensors reader sees the same keys
    assert set(raw) == set(sd)
    assert io.read_metadata(path)["lamina.format"] == io.FORMAT
    assert lamina.load(path).keys() == out.keys()  # top-level aliases


def test_tensors_and_module_state(tmp_path):
    class Tiny(Module):
        def __init__(self):
            super().__init__()
            self.w = Parameter(lamina.tensor(np.ones((2, 2), np.float32)))

    m = Tiny()
    lamina.save({"t": lamina.tensor(np.arange(3.0)), **m.state_dict()}, tmp_path / "m.st")
    out = lamina.load(tmp_path / "m.st")
    np.testing.assert_array_equal(out["t"], np.arange(3.0))
    m2 = Tiny()
    m2.w.array[...] = 0
    m2.load_state_dict({"w": out["w"]})
    np.testing.assert_array_equal(m2.w.array, np.ones((2, 2)))


def test_nested_tree_round_trip(tmp_path):
    big = 2 ** 127 + 12345  # PCG64 states are 128-bit ints
    obj = {"model": {"a.b": np.ones(2, np.float32)},
           "optimizer": {"state": {0: {"step": 3, "exp_avg": np.zeros(2, np.float32)}},
                         "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": [0]}]},
           "epoch": 4, "best": float("inf"), "name": "run", "none": None, "flag": True,
           "rng": {"state": big}, "list": [np.arange(2), 1.5, "x"], "np_scalar": np.float32(0.25)}
    io.save(obj, tmp_path / "c.st")
    out = io.load(tmp_path / "c.st")
    assert out["optimizer"]["state"][0]["step"] == 3
    assert out["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)
    assert out["optimizer"]["param_groups"][0]["lr"] == 1e-3
    assert out["best"] == float("inf") and out["none"] is None and out["flag"] is True
    assert out["rng"]["state"] == big and out["epoch"] == 4 and out["name"] == "run"
    assert out["np_scalar"] == 0.25 and out["list"][1:] == [1.5, "x"]
    np.testing.assert_array_equal(out["list"][0], np.arange(2))
    assert set(safetensors.numpy.load_file(str(tmp_path / "c.st"))) == {
        "model.a.b", "optimizer.state.0.exp_avg", "list.0"}


def test_unsupported_and_colliding_leaves(tmp_path):
    with pytest.raises(TypeError, match="cb.*function"):
        io.save({"cb": lambda: 0}, tmp_path / "x.st")
    with pytest.raises(ValueError, match="same name 'a.b'"):
        io.save({"a.b": np.ones(1), "a": {"b": np.ones(1)}}, tmp_path / "x.st")
    assert not os.path.exists(tmp_path / "x.st")


def test_foreign_safetensors_loads_flat(tmp_path):
    safetensors.numpy.save_file({"x": np.ones(2, np.float32)}, str(tmp_path / "f.st"))
    out = io.load(tmp_path / "f.st")
    assert list(out) == ["x"]


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickle_is_refused_and_never_executed(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.safetensors"
    for proto in (0, 2, pickle.HIGHEST_PROTOCOL):
        with open(evil, "wb") as f:
            pickle.dump(_Evil(str(marker)), f, protocol=proto)
        with pytest.raises(ValueError, match="safetensors.*never unpickles"):
            io.load(evil)
        assert not marker.exists()
    # a torch.save-style zip archive holding a pickle
    z = tmp_path / "model.pt"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("archive/data.pkl", pickle.dumps(_Evil(str(marker))))
    with pytest.raises(ValueError, match="zip archive"):
        io.load(z)
    with pytest.raises(ValueError, match="not a safetensors header|pickle"):
        io.load_checkpoint(z)
    assert not marker.exists()
    (tmp_path / "short").write_bytes(b"abc")
    with pytest.raises(ValueError, match="expected a safetensors file"):
        io.load(tmp_path / "short")


@pytest.mark.torch
def test_torch_save_file_is_refused(tmp_path):
    torch = pytest.importorskip("torch")
    marker = tmp_path / "pwned"
    torch.save({"w": torch.ones(2), "evil": _Evil(str(marker))}, tmp_path / "t.pt")
    assert not marker.exists()
    with pytest.raises(ValueError, match="zip archive"):
        io.load(tmp_path / "t.pt")
    assert not marker.exists()


def test_atomic_write_keeps_old_file_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "w.st"
    io.save({"x": np.ones(2)}, path)

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        io.save({"x": np.zeros(2)}, path)
    monkeypatch.undo()
    np.testing.assert_array_equal(io.load(path)["x"], np.ones(2))
    assert os.listdir(tmp_path) == ["w.st"]  # no temp file left behind
    io.atomic_write(tmp_path / "t.txt", "hello")
    assert (tmp_path / "t.txt").read_text() == "hello"
