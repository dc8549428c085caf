"""Self-organizing map: vectorized queries against loops, and learning outcomes on iris/digits."""

import numpy as np
import pytest

from lamina import datasets
from lamina.models import SOM


def _naive_umatrix(W):
    rows, cols, _ = W.shape
    out = np.zeros((rows, cols))
    for r in range(rows):
        for c in range(cols):
            d = [np.linalg.norm(W[r, c] - W[r + a, c + b])
                 for a in (-1, 0, 1) for b in (-1, 0, 1)
                 if (a or b) and 0 <= r + a < rows and 0 <= c + b < cols]
            out[r, c] = np.mean(d)
    return out


def test_queries_match_loops(rs):
    X = rs.standard_normal((40, 3)).astype(np.float32)
    som = SOM(4, 5, 3, init="random").fit(X, epochs=3)
    W = som.weights.reshape(4, 5, 3).astype(np.float64)
    np.testing.assert_allclose(som.umatrix(), _naive_umatrix(W), rtol=1e-4)
    d = np.linalg.norm(X[:, None, :] - som.weights[None], axis=2)
    np.testing.assert_array_equal(som.bmu(X), d.argmin(1))
    np.testing.assert_allclose(som.quantization_error(X), d.min(1).mean(), rtol=1e-4)
    first, second = np.argsort(d, 1)[:, 0], np.argsort(d, 1)[:, 1]
    apart = np.maximum(np.abs(first // 5 - second // 5), np.abs(first % 5 - second % 5)) > 1
    np.testing.assert_allclose(som.topographic_error(X), apart.mean())
    assert som.winner(X[0]) == (int(first[0] // 5), int(first[0] % 5))
    np.testing.assert_array_equal(som.winner(X[:3]), np.stack([first[:3] // 5,
                                                              first[:3] % 5], 1))


def test_label_map_majority_and_predict(rs):
    X = np.concatenate([rs.normal(-3, 0.3, (30, 2)), rs.normal(3, 0.3, (30, 2))])
    y = np.repeat([0, 1], 30)
    som = SOM(3, 3, 2).fit(X.astype(np.float32), epochs=10)
    labels = som.label_map(X, y)
    assert labels.shape == (3, 3) and set(np.unique(labels)) <= {-1, 0, 1}
    assert (som.label_counts_.sum() == 60) and (som.predict(X) == y).all()


def test_errors():
    som = SOM(2, 2, 3)
    with pytest.raises(RuntimeError, match="SOM.bmu: expected a fitted SOM"):
        som.bmu(np.zeros((1, 3)))
    with pytest.raises(ValueError, match=r"SOM.fit: expected samples of dimension 3, got"):
        som.fit(np.zeros((5, 4)))
    with pytest.raises(ValueError, match="SOM.fit: expected mode 'batch' or 'online'"):
        som.fit(np.zeros((5, 3)), mode="minibatch")


@pytest.mark.parametrize("mode,epochs", [("batch", 20), ("online", 5)])
def test_som_digits_and_iris(mode, epochs, tmp_path):
    """Learning outcome: quantization error falls, topographic error < 0.1 on a 10x10 map,
    node majority labels classify held-out samples well above chance."""
    for name, min_acc in (("iris", 0.85), ("digits", 0.8)):
        d = datasets.load(name, flatten=True)
        som = SOM(10, 10, d.x_train.shape[1]).fit(d.x_train, epochs=epochs, mode=mode)
        qe = som.history_["quantization_error"]
        assert qe[-1] < 0.8 * qe[0] and all(b < a + 1e-6 for a, b in zip(qe, qe[1:])), qe
        assert som.topographic_error(d.x_test) < 0.1
        som.label_map(d.x_train, d.y_train)
        acc = (som.predict(d.x_test) == d.y_test).mean()
        assert acc > min_acc, (name, mode, acc)  # measured: iris 0.97, digits 0.88-0.90
    fig = som.plot_umatrix(tmp_path / "umatrix.png")
    assert (tmp_path / "umatrix.png").read_bytes()[:4] == b"\x89PNG" and fig.axes
