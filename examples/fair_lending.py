"""Seed Q47: auditing and de-biasing a mortgage-approval network on HMDA (Boston, 1990).

Trains an MLP to predict denial from 20 application features (the applicant's race, `afam`, is
not a feature), audits it by group, then applies one mitigation of each family and prints
accuracy against the demographic-parity and equalized-odds gaps on the test split. Figures
(group-rate bars, accuracy-fairness trade-off) go to OUT_DIR.

    python examples/fair_lending.py [OUT_DIR]     # default: fair_lending_out
"""

import sys

import numpy as np

import lamina
from lamina import datasets, fairness, nn, optim
from lamina.train import Trainer


def mlp():
    return nn.Sequential(nn.Linear(20, 32), nn.ReLU(), nn.Linear(32, 2))


def proba(model, x):
    model.eval()
    with lamina.no_grad():
        z = model(lamina.tensor(x)).numpy()
    return 1 / (1 + np.exp(-(z[:, 1] - z[:, 0])))


def train(d, a, strength=0.0, constraint="demographic_parity", weights=None):
    lamina.manual_seed(0)
    m = mlp()
    Trainer(m, optim.Adam(m.parameters(), lr=3e-3), "cross_entropy",
            step_fn=fairness.fair_step(strength, constraint, weighted=weights is not None)).fit(
        (d.x_train, fairness.pack_targets(d.y_train, a, weights)), epochs=40, batch_size=64,
        verbose=0)
    return m


SHORT = {"demographic_parity": "DP", "equalized_odds": "EO"}


def row(name, y, pred, a):
    dp = fairness.demographic_parity_difference(y, pred, sensitive_features=a)
    eo = fairness.equalized_odds_difference(y, pred, sensitive_features=a)
    print(f"| {name:<34} | {np.mean(pred == y):.3f} | {dp:.3f} | {eo:.3f} |")


def main(out_dir="fair_lending_out"):
    d = datasets.load("hmda")
    a_tr, a_te = d.extras["sensitive_train"]["afam"], d.extras["sensitive_test"]["afam"]
    base = train(d, a_tr)
    rep = fairness.fairness_report(base, (d.x_test, d.y_test), a_te, out_dir=out_dir,
                                   sensitive_name="afam")
    print(rep["markdown"])
    y, p_te = d.y_test, proba(base, d.x_test)
    print("| model | accuracy | DP difference | EO difference |\n|---|---|---|---|")
    row("unmitigated", y, (p_te > 0.5).astype(int), a_te)
    w = fairness.reweighing(d.y_train, a_tr)
    row("reweighing (loss weights)", y, (proba(train(d, a_tr, weights=w), d.x_test) > 0.5)
        .astype(int), a_te)
    row("DP penalty, strength 1", y, (proba(train(d, a_tr, 1.0), d.x_test) > 0.5).astype(int),
        a_te)
    row("EO penalty, strength 0.3", y, (proba(train(d, a_tr, 0.3, "equalized_odds"), d.x_test)
                                         > 0.5).astype(int), a_te)
    for strength, c in ((3.0, "demographic_parity"), (5.0, "equalized_odds")):
        lamina.manual_seed(0)
        deb = fairness.AdversarialDebiasing(mlp(), strength=strength, constraint=c, lr=3e-3)
        deb.fit(d.x_train, d.y_train, a_tr, epochs=40)
        row(f"adversarial ({SHORT[c]}), strength {strength:g}", y, deb.predict(d.x_test),
            a_te)
    p_tr = proba(base, d.x_train)
    for c in ("demographic_parity", "equalized_odds"):
        to = fairness.ThresholdOptimizer(constraints=c).fit(p_tr, d.y_train,
                                                            sensitive_features=a_tr)
        row(f"ThresholdOptimizer ({SHORT[c]})", y, to.predict(p_te, sensitive_features=a_te),
            a_te)
    print(f"figures in {out_dir}: {', '.join(rep['figures'])}")


if __name__ == "__main__":
    main(*sys.argv[1:2])
