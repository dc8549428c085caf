"""NaN-aware layers and the learned imputers (seed Q43)."""

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline

import lamina
from lamina import nn
from lamina.sklearn import NeuralNetClassifier
from lamina.sklearn.impute import DenoisingAutoencoderImputer, VAEImputer


def mcar(X, rate, rs):
    m = rs.random(X.shape) < rate
    out = X.copy()
    out[m] = np.nan
    return out, m


def test_missing_indicator_fills_appends_mask_and_learns_fill():
    x = np.array([[1.0, np.nan, 2.0], [np.nan, 1.0, 1.0]], np.float32)
    layer = nn.MissingIndicator(3)
    out = layer(lamina.tensor(x))
    assert out.shape == (2, 6) and not np.isnan(out.numpy()).any()
    np.testing.assert_array_equal(out.numpy()[:, 3:], np.isnan(x).astype(np.float32))
    out.sum().backward()
    np.testing.assert_array_equal(layer.fill.grad.numpy(), [1.0, 1.0, 0.0])
    fixed = nn.MissingIndicator(3, fill=[5.0, 6.0, 7.0], append_mask=False)
    np.testing.assert_array_equal(fixed(lamina.tensor(x)).numpy(), [[1, 6, 2], [5, 1, 1]])
    assert "fill" in fixed.state_dict()
    with pytest.raises(ValueError, match="num_features"):
        layer(lamina.tensor(np.zeros((2, 4), np.float32)))


def test_missing_sequence_input_decays_last_observation():
    x = np.array([[[1.0], [np.nan], [np.nan], [3.0]]], np.float32)
    layer = nn.MissingSequenceInput(1, mean=0.0)
    out = layer(lamina.tensor(x)).numpy()[0]
    delta = out[:, 2]
    np.testing.assert_array_equal(delta, [0, 1, 2, 3])
    g1, g2 = np.exp(-max(0.0, 0.1 * 1)), np.exp(-max(0.0, 0.1 * 2))
    np.testing.assert_allclose(out[:, 0], [1.0, g1, g2, 3.0], rtol=1e-6)
    np.testing.assert_array_equal(out[:, 1], [0, 1, 1, 0])
    o = layer(lamina.tensor(x))
    o.sum().backward()
    assert layer.decay_weight.grad.numpy()[0] < 0  # a longer memory raises the filled values


def test_missing_indicator_network_learns_breast_cancer(rs):
    X, y = load_breast_cancer(return_X_y=True)
    X = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
    Xm, _ = mcar(X, 0.3, rs)
    lamina.manual_seed(0)
    model = nn.Sequential(nn.MissingIndicator(30), nn.Linear(60, 32), nn.ReLU(),
                          nn.Linear(32, 2))
    from lamina.train import Trainer
    trainer = Trainer(model, lamina.optim.Adam(model.parameters(), 3e-3), "cross_entropy")
    trainer.fit((Xm[:400], y[:400]), epochs=20, batch_size=32, verbose=0)
    assert trainer.evaluate((Xm[400:], y[400:]))["accuracy"] > 0.9
    assert np.abs(model[0].fill.numpy()).sum() > 0  # the fill values were trained


@pytest.mark.parametrize("cls", [DenoisingAutoencoderImputer, VAEImputer])
def test_learned_imputer_beats_mean_on_breast_cancer(cls, rs):
    X, _ = load_breast_cancer(return_X_y=True)
    Xm, m = mcar(X, 0.3, rs)
    sd = X.std(0)
    imp = cls(max_epochs=30, random_state=0).fit(Xm)
    Xi = imp.transform(Xm)
    assert not np.isnan(Xi).any() and np.array_equal(Xi[~m], X[~m])
    rmse = np.sqrt(np.mean(((Xi - X) / sd)[m] ** 2))
    rmse_mean = np.sqrt(np.mean(((SimpleImputer().fit_transform(Xm) - X) / sd)[m] ** 2))
    assert rmse < 0.75 * rmse_mean, (rmse, rmse_mean)


def test_imputer_in_pipeline_with_wrapper(rs):
    X, y = load_breast_cancer(return_X_y=True)
    Xm, _ = mcar(X, 0.2, rs)
    from sklearn.preprocessing import StandardScaler
    pipe = make_pipeline(DenoisingAutoencoderImputer(max_epochs=5, random_state=0),
                         StandardScaler(), NeuralNetClassifier(max_epochs=10, random_state=0))
    assert pipe.fit(Xm[:400], y[:400]).score(Xm[400:], y[400:]) > 0.9
