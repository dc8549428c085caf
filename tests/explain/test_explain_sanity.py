"""Adebayo et al. 2018's data-randomization check: a copy of the architecture trained on
permuted labels (same recipe, seeded), whose attributions a trustworthy method must not
reproduce; the helper's mechanics and the rank correlation it reports."""

import numpy as np
import pytest

import lamina
from explain_twins import accuracy, train
from lamina import backend as B
from lamina import nn
from lamina.explain import Saliency, sanity_check, shuffled_label_model, spearman


def _recipe(model, x, y):
    # the recipe of the digits_cnn fixture, so real and shuffled models differ only in labels
    return train(model, x, y, epochs=12)


def test_saliency_of_shuffled_label_model_is_weakly_correlated_on_digits(digits_cnn):
    model, d = digits_cnn
    x_tr, y_tr = d.x_train.astype(np.float32), d.y_train
    x, y = d.x_test[:32].astype(np.float32), d.y_test[:32]
    rand = shuffled_label_model(model, x_tr, y_tr, train_fn=_recipe, seed=0)
    # the shuffled-label model learned nothing about digits; the real one did
    assert accuracy(model, d.x_test, d.y_test) >= 0.85
    assert accuracy(rand, d.x_test, d.y_test) <= 0.25
    scores = sanity_check(Saliency, model, x, randomized_model=rand, target=y)
    # measured: 0.23 (seeds 0-5: 0.17-0.23; built-in Trainer recipe 0.20-0.21); a retrain on
    # the real labels with the same seed correlates 0.17-0.37, so Saliency is unstable
    # across inits on this small CNN too (docs/explain.md)
    assert list(scores) == ["randomized_labels"]
    assert scores["randomized_labels"] < 0.3, scores
    # train_data= runs the same seeded training inside the check
    again = sanity_check(Saliency, model, x, train_data=(x_tr, y_tr), train_fn=_recipe, seed=0,
                         target=y)
    assert again["randomized_labels"] == pytest.approx(scores["randomized_labels"], abs=1e-9)


def _tiny(seed=0):
    lamina.manual_seed(seed)
    return nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3))


def test_shuffled_label_model_is_seeded_and_leaves_model_and_rng_alone():
    rs = np.random.default_rng(1)
    x = rs.standard_normal((60, 6)).astype(np.float32)
    y = rs.integers(0, 3, 60)
    model = _tiny().eval()
    before = {k: np.array(v) for k, v in model.state_dict().items()}
    seen = []

    def recipe(m, xs, ys):
        seen.append(ys.copy())
        assert m is not model and m.training
        return train(m, xs, ys, epochs=2)

    lamina.manual_seed(123)
    state = B.get_rng_state()
    a = shuffled_label_model(model, x, y, train_fn=recipe, seed=7)
    assert B.get_rng_state() == state  # the user's random stream goes on as before
    b = shuffled_label_model(model, x, y, train_fn=recipe, seed=7)
    c = shuffled_label_model(model, x, y, train_fn=recipe, seed=8)
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(np.asarray(v), before[k])
    assert not model.training and not a.training  # the model's mode is copied
    np.testing.assert_array_equal(seen[0], seen[1])  # same seed, same permutation
    assert not np.array_equal(seen[0], seen[2])
    for ys in seen:  # a permutation: the class counts stay, the pairing with x does not
        np.testing.assert_array_equal(np.bincount(ys, minlength=3), np.bincount(y, minlength=3))
        assert (ys != y).mean() > 0.3
    wa, wb, wc = (m[0].weight.numpy() for m in (a, b, c))
    np.testing.assert_array_equal(wa, wb)
    assert not np.allclose(wa, wc) and not np.allclose(wa, before["0.weight"])


def test_shuffled_label_model_builtin_recipe_trains_with_trainer():
    rs = np.random.default_rng(2)
    x = rs.standard_normal((64, 6)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0)
    model = _tiny()
    rand = shuffled_label_model(model, x, y, epochs=3, lr=1e-2, batch_size=16)
    assert rand is not model and rand.training  # model was in train mode
    assert not np.allclose(rand[0].weight.numpy(), model[0].weight.numpy())
    with pytest.raises(ValueError, match="one label per training row"):
        shuffled_label_model(model, x, y[:10])
    with pytest.raises(TypeError, match="integer class labels"):
        shuffled_label_model(model, x, y.astype(np.float32))
    with pytest.raises(ValueError, match="train_data or randomized_model"):
        sanity_check(Saliency, model, x, randomized_model=rand, train_data=(x, y), target=0)


def test_spearman_matches_scipy_with_ties():
    stats = pytest.importorskip("scipy.stats")
    rs = np.random.default_rng(3)
    a = rs.integers(0, 4, (5, 30)).astype(np.float64)  # many ties, as zero attributions give
    b = a + rs.integers(0, 3, (5, 30))
    want = [stats.spearmanr(a[i], b[i]).statistic for i in range(5)]
    np.testing.assert_allclose(spearman(a, b), want, rtol=1e-12)
    np.testing.assert_allclose(spearman(a, a), 1.0)
    np.testing.assert_allclose(spearman(a, -a), -1.0)
