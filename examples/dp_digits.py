"""Seed Q47: differentially private training (DP-SGD) on digits, and what it protects.

1. A 64-64-10 MLP trained with DP-SGD at (epsilon = 3, delta = 1e-5) next to the same model
   trained normally; epsilon is logged every epoch.
2. Membership inference on a model over-fitted to 300 digits, and on its DP twin (epsilon 1):
   the attack's ROC curve moves to the diagonal.

    python examples/dp_digits.py [OUT_DIR]        # default: dp_digits_out
"""

import sys
from pathlib import Path

import lamina
from lamina import datasets, nn, optim, privacy
from lamina.data import ArrayDataset, DataLoader
from lamina.train import Trainer


def mlp(h=64):
    return nn.Sequential(nn.Linear(64, h), nn.Tanh(), nn.Linear(h, 10))


def accuracy(m, x, y):
    m.eval()
    with lamina.no_grad():
        return float((m(lamina.tensor(x)).numpy().argmax(1) == y).mean())


def private(model, x, y, epsilon, epochs, batch_size):
    loader = DataLoader(ArrayDataset(x, y), batch_size=batch_size)
    gm, opt, loader = privacy.make_private(model, optim.SGD(model.parameters(), lr=0.25,
                                                            momentum=0.5), loader,
                                           target_epsilon=epsilon, target_delta=1e-5,
                                           epochs=epochs, max_grad_norm=1.0)
    hist = Trainer(gm, opt, "cross_entropy", step_fn=privacy.dp_step).fit(
        loader, epochs=epochs, verbose=0, callbacks=[privacy.PrivacyMeter()])
    return hist, opt


def main(out_dir="dp_digits_out"):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    d = datasets.load("digits", flatten=True)
    lamina.manual_seed(0)
    plain = mlp()
    Trainer(plain, optim.SGD(plain.parameters(), lr=0.25, momentum=0.5), "cross_entropy").fit(
        (d.x_train, d.y_train), epochs=15, batch_size=64, verbose=0)
    lamina.manual_seed(0)
    dp_model = mlp()
    hist, opt = private(dp_model, d.x_train, d.y_train, 3.0, 15, 64)
    eps = hist.history["epsilon"]
    print(f"non-private accuracy {accuracy(plain, d.x_test, d.y_test):.3f}; DP-SGD accuracy "
          f"{accuracy(dp_model, d.x_test, d.y_test):.3f} at epsilon {eps[-1]:.2f} "
          f"(sigma {opt.noise_multiplier:.2f}, delta 1e-5)")
    fig, ax = plt.subplots(figsize=(4.8, 3.4), dpi=100)
    ax.plot(range(1, len(eps) + 1), eps, "o-")
    ax.set_xlabel("epoch")
    ax.set_ylabel("epsilon (delta = 1e-5)")
    ax.set_title("Privacy spent during DP-SGD (RDP accountant)")
    fig.tight_layout()
    fig.savefig(out / "epsilon.png")
    plt.close(fig)

    xm, ym, xn, yn = d.x_train[:300], d.y_train[:300], d.x_test[:300], d.y_test[:300]
    lamina.manual_seed(0)
    over = mlp(256)
    Trainer(over, optim.Adam(over.parameters(), lr=3e-3), "cross_entropy").fit(
        (xm, ym), epochs=60, batch_size=32, verbose=0)
    lamina.manual_seed(0)
    twin = mlp(256)
    private(twin, xm, ym, 1.0, 30, 32)
    fig, ax = plt.subplots(figsize=(4.8, 4.2), dpi=100)
    for name, m in (("over-fitted", over), ("DP-SGD, eps 1", twin)):
        r = privacy.membership_inference(m, (xm, ym), (xn, yn))
        for k in ("loss", "lira"):
            ax.plot(r[k]["fpr"], r[k]["tpr"], label=f"{name}, {k} (AUC {r[k]['auc']:.3f})")
            print(f"{name:<14} {k:<5} AUC {r[k]['auc']:.3f}  TPR@1%FPR "
                  f"{r[k]['tpr_at_fpr'][0.01]:.3f}")
    ax.plot([0, 1], [0, 1], "k:", lw=1)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title("Membership inference on 300 digits")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "membership.png")
    plt.close(fig)
    print(f"figures in {out}")


if __name__ == "__main__":
    main(*sys.argv[1:2])
