"""Every lamina.nn layer with an ONNX equivalent exports, passes the full checker, runs in ONNX
Runtime at another batch size (and sequence length) to 1e-5 x max(1, max|out|), and comes
back through load_onnx with the same outputs."""

import numpy as np
import pytest

import lamina
import lamina.functional as F
from lamina import nn

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


class _Seq(nn.Module):
    """Wrap a recurrent layer so that every output (y, h_n[, c_n]) is a graph output."""

    def __init__(self, rnn, with_state=False):
        super().__init__()
        self.rnn, self.with_state = rnn, with_state

    def forward(self, x):
        y, h = self.rnn(x)
        return (y,) + (tuple(h) if isinstance(h, tuple) else (h,))


def _img(n, c=3, h=9, w=9):
    return lamina.randn(n, c, h, w)


def _padded(mode, p):
    return nn.Sequential(nn.Lambda(lambda x: F.pad(x, (p, p + 1, p, p), mode=mode)),
                         nn.Conv2d(3, 4, 3))


IMAGE_LAYERS = {
    "conv2d": lambda: nn.Conv2d(3, 4, 3, padding=1),
    "conv2d_stride_dil": lambda: nn.Conv2d(3, 4, 3, stride=2, dilation=2, padding=2),
    "conv2d_groups": lambda: nn.Conv2d(3, 6, 3, groups=3, bias=False),
    "conv2d_same": lambda: nn.Conv2d(3, 4, 4, padding="same"),
    # lamina's Conv2d pads with zeros only: other padding modes are F.pad before the conv
    "pad_reflect_conv": lambda: _padded("reflect", 1),
    "pad_replicate_conv": lambda: _padded("replicate", 2),
    "pad_circular_conv": lambda: _padded("circular", 1),
    "conv_transpose2d": lambda: nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1,
                                                   output_padding=1),
    "maxpool2d": lambda: nn.MaxPool2d(2),
    "maxpool2d_ceil_pad": lambda: nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True),
    "avgpool2d": lambda: nn.AvgPool2d(3, stride=2, padding=1),
    "avgpool2d_excl": lambda: nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False),
    "avgpool2d_ceil": lambda: nn.AvgPool2d(2, ceil_mode=True),
    "adaptive_avg": lambda: nn.AdaptiveAvgPool2d(1),
    "adaptive_max_3": lambda: nn.AdaptiveMaxPool2d(3),
    "global_avg": lambda: nn.GlobalAvgPool2d(),
    "global_max": lambda: nn.GlobalMaxPool2d(),
    "lppool": lambda: nn.LPPool2d(2, 3, stride=2),
    "upsample": lambda: nn.Upsample(scale_factor=2),
    "batchnorm2d": lambda: nn.BatchNorm2d(3),
    "groupnorm": lambda: nn.GroupNorm(3, 3),
    "dropout2d": lambda: nn.Dropout2d(0.5),
    "flatten": lambda: nn.Flatten(),
    "prelu": lambda: nn.PReLU(3),
}


@pytest.mark.parametrize("name", sorted(IMAGE_LAYERS))
def test_image_layer_exports(name, check_export):
    layer = IMAGE_LAYERS[name]()
    if isinstance(layer, nn.BatchNorm2d):  # non-trivial running statistics
        layer.running_mean.array[:] = [0.5, -0.2, 0.1]
        layer.running_var.array[:] = [2.0, 0.5, 1.5]
    check_export(layer, _img(2), _img(5))


ACTIVATIONS = ["ReLU", "ReLU6", "LeakyReLU", "ELU", "CELU", "SELU", "GELU", "SiLU", "Mish",
               "Softplus", "Hardtanh", "Hardsigmoid", "Hardswish", "Sigmoid", "Tanh",
               "Softmax", "Softmin", "LogSoftmax", "PReLU", "Identity", "Dropout"]


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activations_export(name, check_export):
    act = getattr(nn, name)()
    check_export(nn.Sequential(nn.Linear(6, 8), act), lamina.randn(2, 6) * 3,
                 lamina.randn(7, 6) * 3)


def test_gelu_tanh_softplus_beta(check_export):
    m = nn.Sequential(nn.Linear(5, 5), nn.GELU(approximate="tanh"), nn.Softplus(beta=2.0,
                                                                                threshold=3.0))
    check_export(m, lamina.randn(2, 5) * 3, lamina.randn(4, 5) * 3)


def test_vector_layers(check_export):
    m = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.LayerNorm(8), nn.Unflatten(1, (2, 4)),
                      nn.Flatten(), nn.Dropout(0.3), nn.Linear(8, 3))
    check_export(m, lamina.randn(3, 6), lamina.randn(6, 6))


def test_conv1d_family(check_export):
    m = nn.Sequential(nn.Conv1d(2, 4, 3, padding=1, dilation=1), nn.BatchNorm1d(4), nn.ReLU(),
                      nn.MaxPool1d(2), nn.Conv1d(4, 4, 3, groups=2, padding="same"),
                      nn.AvgPool1d(2), nn.ConvTranspose1d(4, 2, 3, stride=2))
    check_export(m, lamina.randn(2, 2, 16), lamina.randn(3, 2, 16))


@pytest.mark.parametrize("cls", ["RNN", "GRU", "LSTM"])
@pytest.mark.parametrize("bidir", [False, True])
def test_recurrent_layers_dynamic_batch_and_length(cls, bidir, check_export):
    rnn = getattr(nn, cls)(3, 5, num_layers=2, bidirectional=bidir, batch_first=True)
    proto = check_export(_Seq(rnn), lamina.randn(2, 6, 3), lamina.randn(4, 9, 3))
    ops = {n.op_type for n in proto.graph.node}
    assert cls in ops   # ONNX's own recurrent op, not an unrolled loop


def test_recurrent_seq_first_with_initial_states(check_export):
    class WithState(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(3, 4)

        def forward(self, x, h0, c0):
            y, (h, c) = self.lstm(x, (h0, c0))
            return y, h, c
    ex = (lamina.randn(5, 2, 3), lamina.randn(1, 2, 4), lamina.randn(1, 2, 4))
    probe = (lamina.randn(7, 3, 3), lamina.randn(1, 3, 4), lamina.randn(1, 3, 4))
    axes = {"input_0": {0: "seq", 1: "batch"}, "input_1": {1: "batch"},
            "input_2": {1: "batch"}}
    check_export(WithState(), ex, probe, dynamic_axes=axes)


def test_embedding_and_positional_encoding(check_export):
    class Text(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(20, 8)
            self.pos = nn.LearnedPositionalEncoding(16, 8, batch_first=True)
            self.fc = nn.Linear(8, 3)

        def forward(self, ids):
            return self.fc(self.pos(self.emb(ids)))
    rs = np.random.default_rng(0)
    check_export(Text(), lamina.tensor(rs.integers(0, 20, (2, 5))),
                 lamina.tensor(rs.integers(0, 20, (3, 9))))


@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer_encoder_dynamic_length(norm_first, check_export):
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.1, activation="gelu",
                                       batch_first=True, norm_first=norm_first)
    enc = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(8))
    check_export(enc, lamina.randn(2, 5, 8), lamina.randn(3, 7, 8))


def test_causal_multihead_attention(check_export):
    class Causal(nn.Module):
        def __init__(self):
            super().__init__()
            self.mha = nn.MultiheadAttention(8, 2)

        def forward(self, x):
            return self.mha(x, x, x, is_causal=True, need_weights=False)[0]
    check_export(Causal(), lamina.randn(5, 2, 8), lamina.randn(6, 3, 8),
                 dynamic_axes={"input": {0: "seq", 1: "batch"}})


def test_residual_concat_and_glue_ops(check_export):
    class Glue(nn.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = nn.Linear(4, 4), nn.Linear(4, 4)

        def forward(self, x):
            h = F.relu(self.a(x)) + x                        # residual add
            z = F.cat([h, self.b(x) * 0.5], dim=-1)          # concat, scalar mul
            z = z.reshape(x.shape[0], 2, 4).transpose(1, 2)  # reshape / permute
            return F.mean(z, dim=-1) - F.amax(z, dim=1, keepdim=True)[:, :, 0:1].squeeze(-1)
    check_export(Glue(), lamina.randn(2, 4), lamina.randn(5, 4))


def test_static_export_when_no_dynamic_axes(check_export):
    proto = check_export(nn.Linear(3, 2), lamina.randn(4, 3), lamina.randn(4, 3),
                         dynamic_axes={})
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_value for d in dims] == [4, 3]
