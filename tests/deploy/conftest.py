"""Fixtures of the deploy tests: export, ONNX Runtime, round trip through load_onnx."""

import numpy as np
import pytest

import lamina


def _ort_session(proto_or_bytes, threads=1):
    ort = pytest.importorskip("onnxruntime")
    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.intra_op_num_threads = threads
    data = proto_or_bytes if isinstance(proto_or_bytes, bytes) else \
        proto_or_bytes.SerializeToString()
    return ort.InferenceSession(data, so, providers=["CPUExecutionProvider"])


def flat(out):
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in flat(o)]
    return [out]


def tol(ref):
    return 1e-5 * max(1.0, float(np.abs(ref).max()) if ref.size else 1.0)


def _check_export(model, example, probe, dynamic_axes=None):
    """Export ``model`` at ``example``; ORT and the re-imported model must match lamina at
    ``probe`` (other batch / sequence sizes) to 1e-5 x max(1, max|out|)."""
    onnx = pytest.importorskip("onnx")
    from lamina.deploy import export_onnx, load_onnx
    model.eval()
    proto = export_onnx(model, example, dynamic_axes=dynamic_axes)
    onnx.checker.check_model(proto, full_check=True)
    probe = probe if isinstance(probe, tuple) else (probe,)
    with lamina.no_grad():
        ref = [t.numpy() for t in flat(model(*probe))]
    sess = _ort_session(proto)
    feeds = {i.name: x.numpy() for i, x in zip(sess.get_inputs(), probe)}
    got = sess.run(None, feeds)
    assert len(got) == len(ref)
    for g, r in zip(got, ref):
        assert g.shape == r.shape
        np.testing.assert_allclose(g, r, rtol=0, atol=tol(r))
    back = load_onnx(proto)
    with lamina.no_grad():
        again = [t.numpy() for t in flat(back(*probe))]
    for a, r in zip(again, ref):
        np.testing.assert_allclose(a, r, rtol=0, atol=tol(r))
    return proto


@pytest.fixture
def check_export():
    """``check_export(model, example, probe, dynamic_axes=None) -> onnx.ModelProto``."""
    return _check_export


@pytest.fixture
def ort_session():
    """``ort_session(proto_or_bytes, threads=1) -> onnxruntime.InferenceSession``."""
    return _ort_session
