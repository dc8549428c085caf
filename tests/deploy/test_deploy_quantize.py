"""Quantization maths, observers, PTQ / dynamic / QAT mechanics and the QDQ ONNX file (fast;
the mnist5k accuracy study is in test_deploy_studies.py)."""

import numpy as np
import pytest

import lamina
from lamina import models, nn
from lamina.deploy import (HistogramObserver, MinMaxObserver, MovingAverageMinMaxObserver,
                           PercentileObserver, convert_qat, export_onnx, fake_quantize,
                           fold_batchnorm, model_size_bytes, prepare_qat, quantize_dynamic,
                           quantize_static)
from lamina.deploy.observers import affine_qparams, dequantize, quantize, symmetric_qparams


def test_round_trip_error_within_half_a_step(rs):
    x = rs.standard_normal((1000,)).astype(np.float32) * 3
    s, z = affine_qparams(x.min(), x.max())
    err = np.abs(dequantize(quantize(x, s, z), s, z) - x)
    assert err.max() <= s / 2 + 1e-6
    w = rs.standard_normal((8, 5)).astype(np.float32)
    ws, wz = symmetric_qparams(w, 0)
    werr = np.abs(dequantize(quantize(w, ws, wz, axis=0), ws, wz, axis=0) - w)
    assert (werr <= ws[:, None] / 2 + 1e-7).all()
    assert (wz == 0).all() and np.allclose(ws, np.abs(w).max(1) / 127)


def test_zero_is_exact_and_codes_are_int8(rs):
    s, z = affine_qparams(-0.3, 2.0)
    q = quantize(np.array([0.0, -5.0, 50.0], np.float32), s, z)
    assert q.dtype == np.int8 and q[1] == -128 and q[2] == 127
    assert dequantize(q[:1], s, z)[0] == 0.0


def test_observers_ranges(rs):
    x = rs.standard_normal(20000).astype(np.float32)
    x[0] = 40.0                                   # one outlier
    mm, pc, hist = MinMaxObserver(), PercentileObserver(99.9), HistogramObserver()
    for o in (mm, pc, hist):
        o.observe(x)
    assert mm.range()[1] == 40.0
    assert pc.range()[1] < 5.0                    # the outlier is clipped
    assert hist.range()[1] < 40.0
    ma = MovingAverageMinMaxObserver(momentum=0.5)
    ma.observe(np.array([0.0, 1.0]))
    ma.observe(np.array([0.0, 3.0]))
    assert ma.range() == (0.0, 2.0)
    with pytest.raises(ValueError, match="observed batch"):
        MinMaxObserver().range()


def _lenet_and_data():
    lamina.manual_seed(0)
    m = models.LeNet5(batch_norm=True).eval()
    return m, lamina.rand(64, 1, 28, 28)


def test_batchnorm_folding_keeps_outputs():
    m, x = _lenet_and_data()
    for bn in (m.features[1], m.features[5]):
        bn.running_mean.array[:] = np.linspace(-0.5, 0.5, bn.num_features)
        bn.running_var.array[:] = np.linspace(0.5, 2.0, bn.num_features)
    f = fold_batchnorm(m)
    assert not any(isinstance(k, nn.BatchNorm2d) for k in f.modules())
    np.testing.assert_allclose(f(x).numpy(), m(x).numpy(), atol=1e-5)


def test_static_ptq_is_smaller_and_close_and_leaves_model_alone():
    m, x = _lenet_and_data()
    before = {k: v.copy() for k, v in m.state_dict().items()}
    q = quantize_static(fold_batchnorm(m), x)
    assert model_size_bytes(m) / model_size_bytes(q) >= 3.5
    ref, got = m(x).numpy(), q(x).numpy()
    assert np.abs(ref - got).max() < 0.05 * np.abs(ref).max()
    assert all(np.array_equal(before[k], v) for k, v in m.state_dict().items())
    assert isinstance(q.features[0].w_q, np.ndarray) and q.features[0].w_q.dtype == np.int8


def test_dynamic_quantization_linear_and_lstm():
    lamina.manual_seed(0)
    mlp = models.MLP(20, (32,), 4).eval()
    x = lamina.randn(16, 20)
    d = quantize_dynamic(mlp)
    np.testing.assert_allclose(d(x).numpy(), mlp(x).numpy(), atol=0.05)
    clf = models.LSTMClassifier(3, 32, 4).eval()
    xs = lamina.randn(4, 7, 3)
    dq = quantize_dynamic(clf)
    np.testing.assert_allclose(dq(xs).numpy(), clf(xs).numpy(), atol=0.05)
    assert model_size_bytes(dq) < 0.4 * model_size_bytes(clf)


def test_fake_quant_straight_through_gradient():
    x = lamina.tensor(np.array([-3.0, -0.2, 0.0, 0.31, 0.9, 5.0], np.float32),
                      requires_grad=True)
    y = fake_quantize(x, 0.01, 0)               # int8 range: [-1.28, 1.27]
    np.testing.assert_allclose(y.numpy(), [-1.28, -0.2, 0.0, 0.31, 0.9, 1.27], atol=1e-6)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0, 1, 1, 1, 1, 0])


def test_qat_trains_through_trainer_and_converts():
    from lamina.train import Trainer
    m, x = _lenet_and_data()
    y = lamina.tensor(np.arange(64) % 10)
    qat = prepare_qat(m)
    t = Trainer(qat, lamina.optim.SGD(qat.parameters(), lr=0.05), "cross_entropy")
    h = t.fit((x, y), epochs=3, batch_size=32, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]
    q = convert_qat(qat)
    qat.eval()
    np.testing.assert_allclose(q(x).numpy(), qat(x).numpy(), atol=0.05)


def test_qdq_onnx_runs_int8_in_ort_and_agrees_with_lamina(ort_session):
    onnx = pytest.importorskip("onnx")
    m, x = _lenet_and_data()
    q = quantize_static(fold_batchnorm(m), x)
    proto = export_onnx(q, x[:2])
    onnx.checker.check_model(proto, full_check=True)
    ops = {n.op_type for n in proto.graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    inits = {t.name: t for t in proto.graph.initializer}
    assert any(t.data_type == onnx.TensorProto.INT8 for t in inits.values())
    got = ort_session(proto).run(None, {"input": x.numpy()})[0]
    ref = q(x).numpy()
    assert (got.argmax(1) == ref.argmax(1)).mean() >= 0.99
    assert np.abs(got - ref).max() < 0.1 * np.abs(ref).max()
    float_size = len(export_onnx(m, x[:2]).SerializeToString())
    assert float_size / len(proto.SerializeToString()) >= 3.0
