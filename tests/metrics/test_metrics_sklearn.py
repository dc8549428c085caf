"""Every metric against scikit-learn's value on random inputs."""

import numpy as np
import pytest
from sklearn import metrics as skm
from sklearn.preprocessing import label_binarize

import lamina
from lamina import metrics as M


def _probs(rs, n, c):
    z = rs.standard_normal((n, c))
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


@pytest.mark.parametrize("seed", range(3))
def test_classification_matches_sklearn(seed):
    rs = np.random.default_rng(seed)
    y = rs.integers(0, 4, 200)
    p = _probs(rs, 200, 4)
    yhat = p.argmax(1)
    assert M.accuracy(y, p) == pytest.approx(skm.accuracy_score(y, yhat))
    assert M.accuracy(y, yhat) == pytest.approx(skm.accuracy_score(y, yhat))
    np.testing.assert_array_equal(M.confusion_matrix(y, yhat), skm.confusion_matrix(y, yhat))
    for norm in ("true", "pred", "all"):
        np.testing.assert_allclose(M.confusion_matrix(y, yhat, normalize=norm),
                                   skm.confusion_matrix(y, yhat, normalize=norm))
    for avg in ("macro", "micro", "weighted", None):
        ours = M.precision_recall_fscore(y, yhat, average=avg)
        ref = skm.precision_recall_fscore_support(y, yhat, average=avg, zero_division=0)[:3]
        for a, b in zip(ours, ref):
            np.testing.assert_allclose(a, b, rtol=1e-12)
        assert M.f1_score(y, p, average=avg) == pytest.approx(
            skm.f1_score(y, yhat, average=avg, zero_division=0))
    for k in (1, 2, 3):
        assert M.top_k_accuracy(y, p, k=k) == pytest.approx(
            skm.top_k_accuracy_score(y, p, k=k))
    assert M.log_loss(y, p) == pytest.approx(skm.log_loss(y, p), rel=1e-10)


@pytest.mark.parametrize("seed", range(3))
def test_binary_matches_sklearn(seed):
    rs = np.random.default_rng(seed)
    y = rs.integers(0, 2, 150)
    s = np.clip(0.3 * y + rs.random(150) * 0.8, 0, 1)
    s[:20] = np.round(s[:20], 1)  # ties
    yhat = (s >= 0.5).astype(int)
    assert M.roc_auc(y, s) == pytest.approx(skm.roc_auc_score(y, s), rel=1e-12)
    assert M.average_precision(y, s) == pytest.approx(skm.average_precision_score(y, s),
                                                      rel=1e-12)
    assert M.pr_auc(y, s) == pytest.approx(skm.average_precision_score(y, s), rel=1e-12)
    assert M.log_loss(y, s) == pytest.approx(skm.log_loss(y, s), rel=1e-10)
    for fn, ref in ((M.precision, skm.precision_score), (M.recall, skm.recall_score),
                    (M.f1_score, skm.f1_score)):
        assert fn(y, s) == pytest.approx(ref(y, yhat))  # probabilities thresholded at 0.5
    assert M.accuracy(y, s) == pytest.approx(skm.accuracy_score(y, yhat))
    assert M.roc_auc(y, np.stack([1 - s, s], 1)) == pytest.approx(skm.roc_auc_score(y, s))


@pytest.mark.parametrize("seed", range(3))
def test_multiclass_ranking_matches_sklearn(seed):
    rs = np.random.default_rng(seed)
    y = rs.integers(0, 5, 300)
    p = _probs(rs, 300, 5)
    p[np.arange(300), y] += 0.3 * rs.random(300)
    p /= p.sum(1, keepdims=True)
    for avg in ("macro", "weighted"):
        assert M.roc_auc(y, p, average=avg) == pytest.approx(
            skm.roc_auc_score(y, p, multi_class="ovr", average=avg), rel=1e-12)
    Y = label_binarize(y, classes=range(5))
    assert M.average_precision(y, p) == pytest.approx(
        skm.average_precision_score(Y, p, average="macro"), rel=1e-12)
    np.testing.assert_allclose(M.roc_auc(y, p, average=None),
                               [skm.roc_auc_score(Y[:, c], p[:, c]) for c in range(5)])


@pytest.mark.parametrize("seed", range(3))
def test_regression_matches_sklearn(seed):
    rs = np.random.default_rng(seed)
    for shape in ((100,), (100, 3)):
        t = rs.standard_normal(shape)
        p = t + 0.5 * rs.standard_normal(shape)
        assert M.mse(t, p) == pytest.approx(skm.mean_squared_error(t, p), rel=1e-12)
        assert M.mae(t, p) == pytest.approx(skm.mean_absolute_error(t, p), rel=1e-12)
        assert M.rmse(t, p) == pytest.approx(skm.root_mean_squared_error(t, p), rel=1e-12)
        assert M.r2(t, p) == pytest.approx(skm.r2_score(t, p), rel=1e-12)
    t = rs.standard_normal(50)
    assert M.r2(t, t.reshape(-1, 1)) == 1.0  # (N,) vs (N, 1) outputs match
    assert M.r2(np.ones(5), np.ones(5)) == 1.0 and M.r2(np.ones(5), np.zeros(5)) == 0.0


def test_metrics_accept_tensors_and_float32():
    y = lamina.tensor(np.array([0, 1, 2, 1]))
    logits = lamina.tensor(np.eye(3, dtype=np.float32)[[0, 1, 1, 1]])
    assert M.accuracy(y, logits) == 0.75
    assert M.r2(lamina.tensor(np.arange(4.0, dtype=np.float32)), np.arange(4.0)) == 1.0


def test_zero_division_and_binary_errors():
    assert M.precision([0, 0, 1], [0, 0, 0]) == 0.0
    assert M.precision([0, 0, 1], [0, 0, 0], zero_division=1.0) == 1.0
    with pytest.raises(ValueError, match="average='macro'"):
        M.f1_score([0, 1, 2], [0, 1, 2])
    with pytest.raises(ValueError, match="both classes"):
        M.roc_auc([1, 1, 1], [0.2, 0.3, 0.9])
    with pytest.raises(ValueError, match="same number of samples"):
        M.accuracy([0, 1], [0, 1, 1])


def test_confusion_matrix_labels_and_num_classes():
    cm = M.confusion_matrix([0, 1, 1], [0, 1, 0], num_classes=4)
    assert cm.shape == (4, 4) and cm[1, 0] == 1 and cm.sum() == 3
    np.testing.assert_array_equal(M.confusion_matrix([2, 0, 1], [2, 2, 1], labels=[2, 1, 0]),
                                  skm.confusion_matrix([2, 0, 1], [2, 2, 1], labels=[2, 1, 0]))


def test_rankdata_matches_scipy():
    from scipy.stats import rankdata
    a = np.array([3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5])
    np.testing.assert_array_equal(M.rankdata(a), rankdata(a))


def test_registry():
    names = M.available_metrics()
    for n in ("accuracy", "f1_macro", "precision_weighted", "roc_auc", "r2", "mse", "log_loss",
              "top5_accuracy", "pr_auc"):
        assert n in names
    logits = np.array([[2.0, -1.0, 0.0], [0.0, 3.0, 0.0], [1.0, 0.0, 5.0], [4.0, 0, 0]])
    y = np.array([0, 1, 2, 1])
    assert M.get_metric("accuracy")(y, logits) == 0.75
    assert M.get_metric("roc_auc")(y, logits) == pytest.approx(
        skm.roc_auc_score(y, M.to_proba(logits), multi_class="ovr"))
    assert M.get_metric("log_loss")(y, logits) == pytest.approx(
        skm.log_loss(y, M.to_proba(logits)))
    assert not M.get_metric("mse").higher_is_better
    spec = M.get_metric(lambda t, p: 1.0)
    assert spec.name == "<lambda>" and spec(y, logits) == 1.0
    with pytest.raises(KeyError, match="accuracy"):
        M.get_metric("acuracy")
