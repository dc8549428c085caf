"""Text and variable-length models in ONNX: recurrent layers called with ``lengths=`` become
ONNX's ``sequence_lens``, padding masks and mean-pooling weights built from a ``lengths`` input
are computed in the graph, and the zoo's text models (TextCNN, BiLSTM classifier and tagger,
Transformer classifier and LM, Seq2Seq teacher-forced) match ONNX Runtime and load back, at
other batch sizes, sequence lengths and lengths than the export's."""

import numpy as np
import pytest

import lamina
from lamina import models as M
from lamina import nn

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


def _ids(n, t, v=20, seed=0):
    return lamina.tensor(np.random.default_rng(seed).integers(1, v, (n, t)))


def _lens(*values):
    return lamina.tensor(np.array(values, dtype=np.int64))


class _WithLengths(nn.Module):
    """A recurrent layer called with ``lengths=``; returns the output and the last h_n."""

    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn

    def forward(self, x, lengths):
        out, h = self.rnn(x, lengths=lengths)
        return out, (h[0] if isinstance(h, tuple) else h)


@pytest.mark.parametrize("cls,kw", [
    (nn.LSTM, dict(bidirectional=True, batch_first=True, num_layers=2)),
    (nn.LSTM, dict()),
    (nn.GRU, dict(bidirectional=True, batch_first=True)),
    (nn.GRU, dict(num_layers=2)),
    (nn.RNN, dict(bidirectional=True, batch_first=True)),
    (nn.RNN, dict(nonlinearity="relu")),
], ids=["lstm_bi_bf_2", "lstm", "gru_bi_bf", "gru_2", "rnn_bi_bf", "rnn_relu"])
def test_recurrent_lengths_become_sequence_lens(cls, kw, check_export):
    lamina.manual_seed(0)
    model = _WithLengths(cls(3, 5, **kw))
    bf = kw.get("batch_first", False)
    shape = (lambda n, t: (n, t, 3)) if bf else (lambda n, t: (t, n, 3))
    proto = check_export(model, (lamina.randn(*shape(2, 6)), _lens(6, 3)),
                         (lamina.randn(*shape(4, 8)), _lens(8, 2, 5, 1)))
    ops = {n.op_type for n in proto.graph.node}
    assert {"LSTM", "GRU", "RNN"} & ops
    rnn = next(n for n in proto.graph.node if n.op_type in ("LSTM", "GRU", "RNN"))
    assert rnn.input[4] != ""   # sequence_lens is wired


def test_padded_steps_are_zero_in_ort(ort_session):
    from lamina.deploy import export_onnx
    lamina.manual_seed(0)
    model = _WithLengths(nn.GRU(3, 4, batch_first=True, bidirectional=True))
    proto = export_onnx(model, (lamina.randn(2, 5, 3), _lens(5, 2)))
    out = ort_session(proto).run(None, {"input_0": np.ones((3, 7, 3), np.float32),
                                        "input_1": np.array([7, 3, 1])})[0]
    assert np.all(out[1, 3:] == 0) and np.all(out[2, 1:] == 0)
    assert np.all(out[1, :3] != 0)


def test_lengths_computed_inside_the_model_are_refused():
    from lamina.deploy import export_onnx

    class Counts(nn.Module):
        def __init__(self):
            super().__init__()
            self.emb, self.rnn = nn.Embedding(20, 4), nn.LSTM(4, 4, batch_first=True)

        def forward(self, ids):
            lengths = (ids.numpy() != 0).sum(1)
            return self.rnn(self.emb(ids), lengths=np.maximum(lengths, 1))[0]

    ids = lamina.tensor(np.array([[3, 4, 5, 0], [6, 7, 0, 0]]))
    with pytest.raises(ValueError, match="lengths= given as a model input"):
        export_onnx(Counts(), ids)


TEXT = {
    "textcnn": lambda: M.TextCNN(20, 3, embed_dim=8, kernel_sizes=(2, 3), num_filters=4),
    "bilstm_classifier": lambda: M.BiLSTMClassifier(20, 3, embed_dim=8, hidden_size=8),
    "bilstm_tagger": lambda: M.BiLSTMTagger(20, 3, embed_dim=8, hidden_size=8),
    "tiny_transformer_classifier": lambda: M.TinyTransformerClassifier(20, 3, 16, 2, 1,
                                                                       max_len=16),
}


@pytest.mark.parametrize("name", sorted(TEXT))
def test_text_model_with_lengths_exports_and_matches(name, check_export):
    lamina.manual_seed(0)
    # probe lengths reach 1 and the full length: TextCNN's windows clip to one there
    check_export(TEXT[name](), (_ids(2, 6), _lens(6, 3)), (_ids(3, 8, seed=1), _lens(8, 1, 5)))


class _Logits(nn.Module):
    """The language model's logits (its second output is the NumPy context for generation)."""

    def __init__(self, lm):
        super().__init__()
        self.lm = lm

    def forward(self, ids):
        return self.lm(ids)[0]


def test_transformer_lm_logits_export_causal(check_export):
    lamina.manual_seed(0)
    lm = M.TinyTransformerLM(20, 16, 2, 2, max_len=16)
    proto = check_export(_Logits(lm), _ids(2, 6), _ids(3, 9, seed=1))
    ops = {n.op_type for n in proto.graph.node}
    assert {"Trilu", "LayerNormalization", "Gather"} <= ops
    # causal: changing the last token leaves the earlier positions' logits unchanged
    from lamina.deploy import load_onnx
    back = load_onnx(proto)
    a = _ids(1, 7).numpy()
    b = a.copy()
    b[0, -1] = (b[0, -1] + 1) % 20
    with lamina.no_grad():
        ya, yb = back(lamina.tensor(a)).numpy(), back(lamina.tensor(b)).numpy()
    np.testing.assert_allclose(ya[:, :-1], yb[:, :-1], atol=1e-6)
    assert np.abs(ya[:, -1] - yb[:, -1]).max() > 1e-4


def test_seq2seq_teacher_forced_forward_is_one_graph(check_export):
    lamina.manual_seed(0)
    model = M.Seq2Seq(20, 15, embed_dim=8, hidden_size=8)
    axes = {"input_0": {0: "batch", 1: "src_len"}, "input_1": {0: "batch"},
            "input_2": {0: "batch"}}   # the target length is unrolled: static
    proto = check_export(model, (_ids(2, 6), _lens(6, 3), _ids(2, 4, v=15, seed=2)),
                         (_ids(3, 8, seed=1), _lens(8, 2, 5), _ids(3, 4, v=15, seed=3)),
                         dynamic_axes=axes)
    ops = [n.op_type for n in proto.graph.node]
    assert ops.count("GRU") == 2 + 4   # encoder (two directions) + one decoder step per token


@pytest.mark.torch
def test_torch_packed_lstm_loads_and_matches():
    """torch 2.13's TorchScript exporter (dynamo=False) writes pack_padded_sequence as the LSTM
    node's sequence_lens; load_onnx runs it with lamina's lengths."""
    torch = pytest.importorskip("torch")
    import io

    from lamina.deploy import load_onnx
    pack, pad = torch.nn.utils.rnn.pack_padded_sequence, torch.nn.utils.rnn.pad_packed_sequence

    class Packed(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = torch.nn.LSTM(3, 4, batch_first=True, bidirectional=True)

        def forward(self, x, lengths):
            out, (h, _) = self.rnn(pack(x, lengths, batch_first=True))
            return pad(out, batch_first=True, total_length=x.shape[1])[0], h

    torch.manual_seed(0)
    model = Packed().eval()
    buf = io.BytesIO()
    torch.onnx.export(model, (torch.randn(2, 5, 3), torch.tensor([5, 3])), buf, dynamo=False,
                      opset_version=17, input_names=["x", "lengths"],
                      dynamic_axes={"x": {0: "b", 1: "t"}, "lengths": {0: "b"}})
    back = load_onnx(buf.getvalue())
    x, lengths = torch.randn(3, 6, 3), torch.tensor([6, 4, 2])   # sorted, as packing needs
    with torch.no_grad():
        ref = [t.numpy() for t in model(x, lengths)]
    with lamina.no_grad():
        got = [t.numpy() for t in back(lamina.tensor(x.numpy()), lamina.tensor(lengths.numpy()))]
    for g, r in zip(got, ref):
        assert g.shape == r.shape
        np.testing.assert_allclose(g, r, rtol=0, atol=1e-5)
    assert np.all(got[0][2, 2:] == 0)
