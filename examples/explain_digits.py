"""Explaining a digits CNN with lamina.explain: Integrated Gradients and Grad-CAM overlays, a
deletion curve against random order, and Adebayo et al.'s model-randomization sanity check.
Prints the numbers quoted in docs/explain.md and writes into ``--out``:
``ig_gradcam_digits.png``, ``deletion_digits.png`` and ``sanity_digits.png``.

    python examples/explain_digits.py --out docs/figures/explain     # ~30 s on one core
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


def cnn():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(), nn.Flatten(),
                         nn.Linear(96, 16), nn.ReLU(), nn.Linear(16, 10))


def train(model, x, y, epochs=12, lr=3e-3, batch=64):
    opt = Adam(model.parameters(), lr=lr)
    rng = np.random.default_rng(0)
    for _ in range(epochs):
        order = rng.permutation(len(x))
        for s in range(0, len(x), batch):
            idx = order[s:s + batch]
            opt.zero_grad()
            F.cross_entropy(model(lamina.tensor(x[idx])), lamina.tensor(y[idx])).backward()
            opt.step()
    return model.eval()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="docs/figures/explain")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    lamina.manual_seed(0)
    d = datasets.load("digits")
    model = train(cnn(), d.x_train, d.y_train)
    with lamina.no_grad():
        acc = (model(lamina.tensor(d.x_test)).numpy().argmax(1) == d.y_test).mean()
    print(f"test accuracy {acc:.3f}")
    x, y = d.x_test[:32], d.y_test[:32]

    ig, delta = E.IntegratedGradients(model).attribute(x, target=y, n_steps=64,
                                                       return_convergence_delta=True)
    ig = ig.numpy()
    change = ig.reshape(32, -1).sum(1) - delta
    print(f"IG completeness: sum|delta| / sum|f(x) - f(0)| = "
          f"{np.abs(delta).sum() / np.abs(change).sum():.2e}")
    cam = E.LayerGradCam(model, model[3]).attribute(x, target=y, relu_attributions=True)
    cam = E.LayerAttribution.interpolate(cam, (8, 8), "bilinear").numpy()
    both = np.concatenate([ig[:8], cam[:8]])
    plot.image_grid(np.concatenate([x[:8], x[:8]]), both,
                    titles=[f"IG {t}" for t in y[:8]] + [f"CAM {t}" for t in y[:8]],
                    path=os.path.join(args.out, "ig_gradcam_digits.png"))

    fr, s_ig = E.deletion_curve(model, x, ig, y)
    _, s_cam = E.deletion_curve(model, x, cam, y)
    _, s_rnd = E.deletion_curve(model, x, ig, y, order="random")
    for name, s in (("IG", s_ig), ("Grad-CAM", s_cam), ("random", s_rnd)):
        print(f"deletion AOPC {name}: {E.aopc(s).mean():.3f}")
    plot.deletion_plot(fr, {"IG": s_ig, "Grad-CAM": s_cam, "random": s_rnd},
                       path=os.path.join(args.out, "deletion_digits.png"))

    scores = E.sanity_check(E.Saliency, model, x[:16], target=y[:16])
    print("sanity check (Saliency, cascading from the top):",
          {k: round(v, 3) for k, v in scores.items()})
    plot.sanity_plot(scores, path=os.path.join(args.out, "sanity_digits.png"))


if __name__ == "__main__":
    main()
