"""Explaining a breast-cancer MLP: KernelShap and Lime against sampled Shapley values (top-5
agreement, Kendall tau), a SHAP-style beeswarm and waterfall, a depth-4 global surrogate's
fidelity and the if-then rules extracted from the net. Writes into ``--out``:
``shap_summary_cancer.png`` and ``waterfall_cancer.png``.

    python examples/explain_tabular.py --out docs/figures/explain    # ~30 s on one core
"""

import argparse
import os

import numpy as np

import lamina
import lamina.functional as F
from lamina import datasets, nn
from lamina import explain as E
from lamina.explain import plot
from lamina.optim import Adam


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="docs/figures/explain")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    lamina.manual_seed(0)
    d = datasets.load("breast_cancer")
    model = nn.Sequential(nn.Linear(30, 32), nn.ReLU(), nn.Linear(32, 2))
    opt = Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    for _ in range(30):
        order = rng.permutation(len(d.x_train))
        for s in range(0, len(order), 64):
            i = order[s:s + 64]
            opt.zero_grad()
            F.cross_entropy(model(lamina.tensor(d.x_train[i])), lamina.tensor(d.y_train[i])) \
                .backward()
            opt.step()
    model.eval()
    names = list(d.feature_names)

    sur = E.GlobalSurrogate(model).fit(d.x_train, n_synthetic=10)
    print(f"depth-4 surrogate fidelity on the test part: {sur.fidelity(d.x_test):.3f}")
    rules = E.extract_rules(model, d.x_train, max_depth=3, X_eval=d.x_test, y_eval=d.y_test,
                            feature_names=names, class_names=list(d.class_names))
    print(f"rules agree with the net on {rules['agreement']:.3f} of the test part:")
    print(rules["text"])

    x = d.x_test[:20].astype(np.float64)
    model.double()
    base = d.x_train.mean(0, keepdims=True)
    ref = E.ShapleyValueSampling(model).attribute(x, base, target=1, n_samples=200).numpy()
    ks = E.KernelShap(model).attribute(x, base, target=1, n_samples=1500).numpy()
    lime = E.Lime(model).attribute(x, base, target=1, n_samples=1500).numpy()
    from scipy.stats import kendalltau
    for name, est in (("KernelShap", ks), ("Lime", lime)):
        taus, overlap = [], []
        for r in range(len(x)):
            top = np.argsort(-np.abs(ref[r]))[:5]
            taus.append(kendalltau(ref[r][top], est[r][top])[0])
            overlap.append(len(set(top) & set(np.argsort(-np.abs(est[r]))[:5])))
        print(f"{name}: top-5 overlap with sampled Shapley {np.mean(overlap):.2f}/5, "
              f"Kendall tau on those 5 {np.nanmean(taus):.2f}")
    plot.beeswarm(ref, x, names, 10, path=os.path.join(args.out, "shap_summary_cancer.png"))
    with lamina.no_grad():
        fb = model(lamina.tensor(base)).numpy()[0, 1]
    plot.waterfall(ref[0], float(fb), names, 8, path=os.path.join(args.out,
                                                                  "waterfall_cancer.png"))


if __name__ == "__main__":
    main()
