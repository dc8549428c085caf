"""Dataset classes: dtypes, indexing, Subset/Concat/random_split, memmap (Q32), CSV."""

import numpy as np
import pytest

import lamina
from lamina.data import (ArrayDataset, ConcatDataset, CSVDataset, DataLoader, MemmapDataset,
                         Subset, TensorDataset, labels_of, random_split)


def test_array_dataset_casts_once():
    ds = ArrayDataset(np.arange(12.0).reshape(6, 2), np.array([0, 1, 0, 1, 0, 1], np.int32))
    assert ds.X.dtype == np.float32 and ds.y.dtype == np.int64
    x, y = ds[2]
    np.testing.assert_array_equal(x, [4.0, 5.0])
    assert y == 0 and len(ds) == 6
    assert ds[1:3][0].shape == (2, 2)
    assert ArrayDataset(np.zeros((3, 2)))[0].shape == (2,)  # unlabeled: x alone
    with pytest.raises(ValueError, match=r"ArrayDataset: expected len\(y\) == len\(X\)"):
        ArrayDataset(np.zeros((3, 2)), np.zeros(4))
    with pytest.raises(TypeError, match="encode string labels"):
        ArrayDataset(np.zeros((2, 2)), np.array(["a", "b"]))
    with pytest.raises(IndexError):
        ds.get_batch([6])


def test_tensor_dataset():
    x, y = lamina.randn(5, 3), lamina.tensor([0, 1, 2, 3, 4])
    ds = TensorDataset(x, y)
    xi, yi = ds[1]
    assert isinstance(xi, lamina.Tensor) and yi.item() == 1
    with pytest.raises(ValueError, match="equal length"):
        TensorDataset(x, lamina.zeros(4))


def test_subset_concat_and_labels():
    a = ArrayDataset(np.zeros((4, 1)), np.arange(4))
    b = ArrayDataset(np.ones((3, 1)), np.arange(3) + 10)
    cat = a + b
    assert isinstance(cat, ConcatDataset) and len(cat) == 7
    assert cat[5][1] == 11 and cat[-1][1] == 12
    got = cat.get_batch([6, 0, 4, 1])
    np.testing.assert_array_equal(got[1], [12, 0, 10, 1])
    sub = Subset(cat, [6, 0])
    np.testing.assert_array_equal(labels_of(sub), [12, 0])
    assert sub[0][1] == 12 and sub.supports_batch


def test_random_split_lengths_fractions_and_seed():
    ds = ArrayDataset(np.zeros((10, 1)), np.arange(10))
    parts = random_split(ds, [0.7, 0.3], seed=0)
    assert [len(p) for p in parts] == [7, 3]
    idx = np.concatenate([p.indices for p in parts])
    assert sorted(idx.tolist()) == list(range(10))
    again = random_split(ds, [7, 3], seed=0)
    np.testing.assert_array_equal(again[0].indices, parts[0].indices)
    assert [len(p) for p in random_split(ds, [0.34, 0.33, 0.33], seed=0)] == [4, 3, 3]
    with pytest.raises(ValueError, match="random_split"):
        random_split(ds, [5, 4])


def test_memmap_dataset_reads_batches_without_loading(tmp_path):
    x = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=np.float64,
                                  shape=(1000, 4))
    x[:] = np.arange(4000).reshape(1000, 4)
    x.flush()
    del x
    np.save(tmp_path / "y.npy", np.arange(1000, dtype=np.int32) % 3)
    ds = MemmapDataset(tmp_path / "x.npy", tmp_path / "y.npy")
    assert isinstance(ds.X, np.memmap) and ds.X.dtype == np.float64  # still on disk
    xb, yb = ds.get_batch([999, 3, 500])
    assert type(xb) is np.ndarray and xb.dtype == np.float32 and yb.dtype == np.int64
    np.testing.assert_array_equal(xb[:, 0], [3996, 12, 2000])
    np.testing.assert_array_equal(yb, [999 % 3, 0, 500 % 3])
    loader = DataLoader(ds, batch_size=128, shuffle=True, seed=0)
    seen = np.concatenate([b[0].numpy()[:, 0] for b in loader])
    assert len(loader) == 8 and sorted(seen.tolist()) == list(range(0, 4000, 4))
    with pytest.raises(ValueError, match="MemmapDataset"):
        np.savez(tmp_path / "z.npz", a=np.zeros(3))
        MemmapDataset(tmp_path / "z.npz")


def _write(tmp_path, text, name="d.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


CSV = """age,color,fare,label
22,red,7.25,no
38,blue,71.3,yes
,red,8.05,yes
35,green,,no
54,blue,51.9,no
"""


def test_csv_missing_values_error_names_columns_and_fix(tmp_path):
    p = _write(tmp_path, CSV)
    with pytest.raises(ValueError) as e:
        CSVDataset(p, target="label", categorical=["color"])
    msg = str(e.value)
    assert "column 'age': 1 row (line 4)" in msg and "column 'fare': 1 row (line 5)" in msg
    assert "missing='mean'" in msg and "missing='drop'" in msg


def test_csv_drop_and_mean(tmp_path):
    p = _write(tmp_path, CSV)
    d = CSVDataset(p, target="label", categorical=["color"], missing="drop")
    assert len(d) == 3 and d.X.dtype == np.float32 and d.y.dtype == np.int64
    assert d.classes == ["no", "yes"]
    assert d.feature_names == ["age", "color=blue", "color=red", "fare"]  # green row dropped
    np.testing.assert_array_equal(d.y, [0, 1, 0])
    m = CSVDataset(p, target="label", categorical=["color"], missing="mean")
    assert len(m) == 5 and m.X.shape == (5, 5)
    np.testing.assert_allclose(m.X[2, 0], np.mean([22, 38, 35, 54]))
    np.testing.assert_allclose(m.X[3, -1], np.mean([7.25, 71.3, 8.05, 51.9]), rtol=1e-6)


def test_csv_errors_and_numeric_target(tmp_path):
    bad = _write(tmp_path, "a,b\n1,x\n2,3\n", "bad.csv")
    with pytest.raises(ValueError, match=r"numbers in column 'b'.*'x' on line 2.*categorical"):
        CSVDataset(bad, target=0)
    miss_target = _write(tmp_path, "a,b\n1,\n2,3\n", "mt.csv")
    with pytest.raises(ValueError, match="use missing='drop'"):
        CSVDataset(miss_target, missing="mean")
    ragged = _write(tmp_path, "a,b\n1,2\n3\n", "rag.csv")
    with pytest.raises(ValueError, match="2 fields per row, got 1 on line 3"):
        CSVDataset(ragged)
    with pytest.raises(KeyError, match="column name"):
        CSVDataset(_write(tmp_path, "a,b\n1,2\n", "ok.csv"), target="zzz")
    num = _write(tmp_path, "1.5,2,0\n0.5,1,1\n", "num.csv")
    d = CSVDataset(num, header=False)
    assert d.y.dtype == np.int64 and d.feature_names == ["col0", "col1"]
    r = CSVDataset(num, header=False, target_dtype="float32")
    assert r.y.dtype == np.float32
    x_only = CSVDataset(num, header=False, target=None)
    assert x_only.X.shape == (2, 3) and x_only.y is None
