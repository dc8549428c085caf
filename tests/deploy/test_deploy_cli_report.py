"""`lamina export` / `lamina deploy-report` and deployment_report."""

import json

import numpy as np
import pytest

import lamina
from lamina import nn
from lamina.cli import main
from lamina.deploy import count_flops, deployment_report, format_report, ort_predict

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
pytest.importorskip("sklearn.datasets")


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("deploy")
    assert main(["train", "--quiet", "--set", "train.epochs=1", "--set", "model.name=mlp",
                 "--set", "model.hidden=[32]", "--set", f'train.out_dir="{root / "runs"}"']) == 0
    (r,) = (root / "runs").iterdir()
    return r


def test_export_float_and_int8_pruned(run, tmp_path, capsys):
    onnx = pytest.importorskip("onnx")
    assert main(["export", str(run), "--format", "onnx", "-o", str(tmp_path / "f.onnx")]) == 0
    assert main(["export", str(run), "--quantize", "int8", "--calibration", "64",
                 "--prune", "0.5", "-o", str(tmp_path / "q.onnx")]) == 0
    out = capsys.readouterr().out
    assert "int8 (calibrated on 64 samples)" in out and "pruned to 50%" in out
    f, q = onnx.load(str(tmp_path / "f.onnx")), onnx.load(str(tmp_path / "q.onnx"))
    onnx.checker.check_model(q, full_check=True)
    assert "QuantizeLinear" in {n.op_type for n in q.graph.node}
    meta = {p.key: p.value for p in f.metadata_props}
    assert json.loads(meta["lamina.arch"])["input_shape"] == [1, 8, 8]
    x = np.random.default_rng(0).random((5, 1, 8, 8)).astype(np.float32)
    assert ort_predict(tmp_path / "f.onnx", x).shape == (5, 10)
    assert (tmp_path / "q.onnx").stat().st_size < 0.6 * (tmp_path / "f.onnx").stat().st_size


def test_export_errors_are_one_line(run, tmp_path, capsys):
    for argv in (["export", str(run), "--prune", "1.5"],
                 ["export", str(run), "-o", str(tmp_path / "nodir" / "m.onnx")],
                 ["export", str(tmp_path)]):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_deploy_report_cli_writes_json(run, tmp_path, capsys):
    assert main(["deploy-report", str(run), "--repeats", "3", "--json",
                 str(tmp_path / "r.json")]) == 0
    text = capsys.readouterr().out
    assert "onnxruntime" in text and "batch 32" in text
    rep = json.loads((tmp_path / "r.json").read_text())
    assert rep["params"] > 0 and set(rep["latency_ms"]) == {"1", "32"}


def test_deployment_report_numbers():
    m = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 6 * 6, 3))
    x = lamina.randn(1, 1, 8, 8)
    assert count_flops(m, x) == 2 * (4 * 6 * 6 * 9) + 2 * 144 * 3
    rep = deployment_report(m, x, repeats=3)
    assert rep["params"] == 4 * 9 + 4 + 144 * 3 + 3
    assert rep["size_bytes"]["model"] == 4 * rep["params"]
    assert rep["size_bytes"]["int8"] < 0.5 * rep["size_bytes"]["model"]
    for bs in (1, 32):
        d = rep["latency_ms"][bs]
        assert 0 < d["onnxruntime"]["p50_ms"] <= d["onnxruntime"]["p95_ms"]
        assert 0 < d["lamina"]["p50_ms"] <= d["lamina"]["p95_ms"]
    assert "FLOPs" in format_report(rep)


def test_predict_accepts_an_exported_onnx_file(run, tmp_path, capsys):
    """`lamina predict model.onnx` runs in ONNX Runtime with the run's preprocessing and gives
    the run's own predictions."""
    from sklearn.datasets import load_digits
    np.save(tmp_path / "x.npy", load_digits().data[:20])
    assert main(["export", str(run), "-o", str(tmp_path / "m.onnx")]) == 0
    assert main(["predict", str(run), str(tmp_path / "x.npy"), "-o",
                 str(tmp_path / "a.csv")]) == 0
    assert main(["predict", str(tmp_path / "m.onnx"), str(tmp_path / "x.npy"), "-o",
                 str(tmp_path / "b.csv")]) == 0
    a = (tmp_path / "a.csv").read_text().splitlines()
    b = (tmp_path / "b.csv").read_text().splitlines()
    assert a[0] == b[0] and len(a) == 21
    assert [r.split(",")[0] for r in a] == [r.split(",")[0] for r in b]
    pa = np.array([[float(v) for v in r.split(",")[1:]] for r in a[1:]])
    pb = np.array([[float(v) for v in r.split(",")[1:]] for r in b[1:]])
    np.testing.assert_allclose(pa, pb, atol=1e-5)
    capsys.readouterr()
    assert main(["predict", str(tmp_path / "nothere.onnx"), str(tmp_path / "x.npy")]) == 2
