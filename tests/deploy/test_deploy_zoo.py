"""Every zoo model whose forward is made of lamina ops exports and matches in ONNX Runtime at
another batch size (and sequence length); the text models that build padding masks in NumPy
from the ids (called without ``lengths``) fail with an error naming the problem rather than
baking one batch into the file (with ``lengths`` they export: test_deploy_text.py)."""

import numpy as np
import pytest

import lamina
from lamina import models as M

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


def _ids(n, t, v=20, seed=0):
    return lamina.tensor(np.random.default_rng(seed).integers(1, v, (n, t)))


def _reference(name):
    from lamina.cli.build import REFERENCE_MODELS
    return REFERENCE_MODELS[name]


ZOO = {
    "mlp": lambda: (M.MLP(20, (32, 16), 3), lamina.randn(2, 20), lamina.randn(5, 20)),
    "lenet5": lambda: (M.LeNet5(), lamina.randn(2, 1, 28, 28), lamina.randn(3, 1, 28, 28)),
    "lenet5_bn_tanh_avg": lambda: (M.LeNet5(batch_norm=True, activation="tanh", pool="avg",
                                            dropout=0.2),
                                   lamina.randn(2, 1, 28, 28), lamina.randn(3, 1, 28, 28)),
    "resnet8": lambda: (M.ResNet(8, 10, 1), lamina.randn(2, 1, 8, 8), lamina.randn(3, 1, 8, 8)),
    "small_cnn": lambda: (_reference("small_cnn")((1, 8, 8), 4, {}), lamina.randn(2, 1, 8, 8),
                          lamina.randn(3, 1, 8, 8)),
    "gru_classifier": lambda: (M.GRUClassifier(3, 8, 4), lamina.randn(2, 7, 3),
                               lamina.randn(3, 9, 3)),
    "lstm_classifier_bi": lambda: (M.LSTMClassifier(3, 8, 4, num_layers=2, bidirectional=True),
                                   lamina.randn(2, 7, 3), lamina.randn(3, 9, 3)),
    "cnn1d": lambda: (M.CNN1DClassifier(2, 4, channels=(8, 8)), lamina.randn(2, 2, 32),
                      lamina.randn(3, 2, 32)),
    "forecaster": lambda: (M.Forecaster(1, 8, 2), lamina.randn(2, 10), lamina.randn(3, 10)),
    "autoencoder_dense": lambda: (M.Autoencoder.dense(20, 4, hidden=(16,)), lamina.randn(2, 20),
                                  lamina.randn(3, 20)),
    "autoencoder_conv": lambda: (M.Autoencoder.conv(1, 4, image_size=8, channels=(4, 8)),
                                 lamina.randn(2, 1, 8, 8), lamina.randn(3, 1, 8, 8)),
    "vae": lambda: (M.VAE.dense(20, 4, hidden=(16,)), lamina.randn(2, 20), lamina.randn(3, 20)),
    "dcgan_generator": lambda: (M.dcgan_digits(8, 8)[0], lamina.randn(2, 8), lamina.randn(3, 8)),
    "dcgan_discriminator": lambda: (M.dcgan_digits(8, 8)[1], lamina.randn(2, 1, 8, 8),
                                    lamina.randn(3, 1, 8, 8)),
    "char_rnn": lambda: (M.CharRNN(20, 8, 16), _ids(2, 6), _ids(3, 8)),
    "char_lstm": lambda: (M.CharLSTM(20, 8, 16), _ids(2, 6), _ids(3, 8)),
}


@pytest.mark.parametrize("name", sorted(ZOO))
def test_zoo_model_exports_and_matches(name, check_export):
    model, example, probe = ZOO[name]()
    check_export(model, example, probe)


@pytest.mark.parametrize("build", [
    lambda: (M.TextCNN(20, 3, embed_dim=8), _ids(2, 12)),
    lambda: (M.BiLSTMClassifier(20, 3, embed_dim=8, hidden_size=8), _ids(2, 6)),
    lambda: (M.TinyTransformerClassifier(20, 3, 16, 2, 1, max_len=16), _ids(2, 6)),
    lambda: (M.BiLSTMTagger(20, 3, embed_dim=8, hidden_size=8), _ids(2, 6)),
], ids=["textcnn", "bilstm_classifier", "tiny_transformer_classifier", "bilstm_tagger"])
def test_numpy_masks_are_refused_with_a_clear_error(build):
    from lamina.deploy import export_onnx
    model, example = build()
    with pytest.raises(ValueError, match="changed with the input|lengths or a mask"):
        export_onnx(model, example)


def test_non_tensor_output_is_named():
    from lamina.deploy import export_onnx
    model = M.TinyTransformerLM(20, 16, 2, 1, max_len=16)
    with pytest.raises(ValueError, match=r"output\[1\] of type ndarray"):
        export_onnx(model, _ids(2, 6))
