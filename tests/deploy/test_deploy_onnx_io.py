"""ONNX files in and out: torch.onnx.export-ed models load and match PyTorch; bad files and
unsupported layers give clear errors; a failed export leaves nothing behind."""

import errno
import io
import os

import numpy as np
import pytest

import lamina
from lamina import nn
from lamina.deploy import export_onnx, load_onnx

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


def _torch_case(torch, name):
    tnn = torch.nn
    if name == "cnn":
        class Net(tnn.Module):
            def __init__(self):
                super().__init__()
                self.c = tnn.Conv2d(1, 4, 3, padding=1)
                self.bn = tnn.BatchNorm2d(4)
                self.c2 = tnn.Conv2d(4, 4, 3, stride=2, groups=2)
                self.fc = tnn.Linear(16, 5)

            def forward(self, x):
                x = torch.nn.functional.max_pool2d(torch.relu(self.bn(self.c(x))), 2)
                x = torch.nn.functional.gelu(self.c2(x))
                return self.fc(x.view(x.size(0), -1)).softmax(-1)   # Shape/Gather/Concat
        return Net(), torch.randn(2, 1, 12, 12), torch.randn(5, 1, 12, 12), {0: "b"}
    if name in ("lstm", "gru", "rnn"):
        cls = {"lstm": tnn.LSTM, "gru": tnn.GRU, "rnn": tnn.RNN}[name]

        class Rec(tnn.Module):
            def __init__(self):
                super().__init__()
                self.r = cls(3, 5, num_layers=2, bidirectional=True, batch_first=True)
                self.fc = tnn.Linear(10, 2)

            def forward(self, x):
                return self.fc(self.r(x)[0][:, -1])
        return Rec(), torch.randn(2, 6, 3), torch.randn(3, 8, 3), {0: "b", 1: "t"}
    if name == "transformer":   # torch's tracer fixes the shapes here: probe at the same size
        layer = tnn.TransformerEncoderLayer(8, 2, 16, 0.0, batch_first=True)
        enc = tnn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        return enc, torch.randn(2, 5, 8), torch.randn(2, 5, 8), {0: "b"}
    if name == "mlp":
        m = tnn.Sequential(tnn.Linear(4, 8), tnn.Tanh(), tnn.Dropout(0.2), tnn.Linear(8, 3),
                           tnn.LogSoftmax(-1))
        return m, torch.randn(2, 4), torch.randn(6, 4), {0: "b"}
    if name == "embedding":
        m = tnn.Sequential(tnn.Embedding(10, 4), tnn.Flatten(), tnn.LayerNorm(12))
        return m, torch.randint(0, 10, (2, 3)), torch.randint(0, 10, (5, 3)), {0: "b"}
    m = tnn.Sequential(tnn.ConvTranspose2d(2, 3, 3, stride=2, padding=1, output_padding=1),
                       tnn.AdaptiveAvgPool2d(1), tnn.Flatten())
    return m, torch.randn(2, 2, 4, 4), torch.randn(3, 2, 4, 4), {0: "b"}


@pytest.mark.torch
@pytest.mark.parametrize("name", ["cnn", "lstm", "gru", "rnn", "transformer", "mlp",
                                  "embedding", "conv_transpose"])
def test_torch_exported_models_load_and_match_torch(name):
    """Matched against torch 2.13's TorchScript exporter (``dynamo=False``), opset 17."""
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model, example, probe, axes = _torch_case(torch, name)
    model.eval()
    buf = io.BytesIO()
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (example,), buf, dynamo=False, opset_version=17,
                          input_names=["x"], output_names=["y"], dynamic_axes={"x": axes})
    lm = load_onnx(buf.getvalue())
    with torch.no_grad():
        ref = model(probe).numpy()
    got = lm(lamina.tensor(probe.numpy())).numpy()
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-5 * max(1.0, np.abs(ref).max()))


def test_imported_model_fine_tunes():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    lm = load_onnx(export_onnx(model, lamina.randn(3, 4)))
    params = list(lm.parameters())
    assert len(params) == 4
    x, y = lamina.randn(16, 4), lamina.tensor(np.arange(16) % 2)
    opt = lamina.optim.SGD(params, lr=0.5)
    losses = []
    for _ in range(20):
        loss = lamina.functional.cross_entropy(lm(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0]


def test_unsupported_layer_names_layer_and_op(tmp_path):
    model = nn.Sequential(nn.Linear(3, 4), nn.Lambda(lambda x: lamina.functional.roll(x, 1, 1)))
    with pytest.raises(ValueError, match=r"Roll.*layer '1'"):
        export_onnx(model, lamina.randn(2, 3), tmp_path / "m.onnx")
    assert not os.listdir(tmp_path)


def test_non_tensor_output_is_an_error():
    class Bad(nn.Module):
        def forward(self, x):
            return {"y": x}
    with pytest.raises(ValueError, match="returning Tensors"):
        export_onnx(Bad(), lamina.randn(2, 3))


def test_corrupt_and_truncated_files(tmp_path):
    good = tmp_path / "good.onnx"
    export_onnx(nn.Linear(3, 2), lamina.randn(2, 3), good)
    data = good.read_bytes()
    (tmp_path / "trunc.onnx").write_bytes(data[: len(data) // 2])
    (tmp_path / "junk.onnx").write_bytes(b"\x00not an onnx file\xff" * 10)
    for name in ("trunc.onnx", "junk.onnx"):
        with pytest.raises(ValueError, match=f"load_onnx.*{name}"):
            load_onnx(tmp_path / name)


def test_unsupported_onnx_op_is_named():
    helper = onnx.helper
    node = helper.make_node("Det", ["x"], ["y"])
    g = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", 1, [2, 2])],
                          [helper.make_tensor_value_info("y", 1, [])])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    with pytest.raises(ValueError, match="unsupported op.*Det"):
        load_onnx(m)


def test_failed_export_leaves_existing_file_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "model.onnx"
    path.write_bytes(b"old contents")

    def full_disk(fd):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space"):
        export_onnx(nn.Linear(3, 2), lamina.randn(2, 3), path)
    monkeypatch.undo()
    assert path.read_bytes() == b"old contents"
    assert sorted(os.listdir(tmp_path)) == ["model.onnx"]
    with pytest.raises(ValueError):   # an unsupported layer: nothing written either
        export_onnx(nn.Lambda(lambda x: lamina.functional.roll(x, 1, 1)), lamina.randn(2, 3),
                    path)
    assert path.read_bytes() == b"old contents"
    assert sorted(os.listdir(tmp_path)) == ["model.onnx"]


def test_example_input_must_be_tensors():
    with pytest.raises(ValueError, match="example_input"):
        export_onnx(nn.Linear(3, 2), [[1.0, 2.0, 3.0]])
