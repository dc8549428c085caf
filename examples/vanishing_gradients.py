"""Seed Q11-Q12: vanishing gradients. A 20-layer sigmoid MLP's first layer receives gradients
~1e-16 times smaller than its last; ReLU with He init (or batch norm) keeps them balanced and
trains. GradientMonitor records per-layer norms and warns, naming the layer.

    python examples/vanishing_gradients.py
"""

import warnings

from threadpoolctl import threadpool_limits

import lamina
from lamina import datasets, optim
from lamina import functional as F
from lamina.models import MLP
from lamina.train import GradientMonitor, GradientWarning, Trainer


def run(name, epochs, data, test, **mlp_kw):
    lamina.manual_seed(0)
    model = MLP(64, (64,) * 19, 10, **mlp_kw)  # 20 Linear layers
    opt = optim.Adam(model.parameters(), 1e-3)
    mon = GradientMonitor(vanish_ratio=1e-2)
    trainer = Trainer(model, opt, F.cross_entropy,
                      scheduler=optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GradientWarning)
        trainer.fit(data, epochs=epochs, batch_size=64, callbacks=[mon], verbose=0)
    acc = trainer.evaluate(test)["accuracy"]
    norms = "  ".join(f"{mon.norms[n][0]:.1e}" for n in mon.layers[::3])
    print(f"{name:<22} test acc {acc:.3f}  first/last grad ratio {mon.ratio(epoch=0):.1e}  "
          f"warnings {len(caught)}")
    print(f"    epoch-1 grad norms, layers {mon.layers[::3]}:\n    {norms}")
    if caught:
        print(f"    e.g. {caught[0].message}")


def main():
    d = datasets.load("digits", flatten=True)
    data, test = (d.x_train, d.y_train), (d.x_test, d.y_test)
    run("sigmoid", 2, data, test, activation="sigmoid")
    run("relu + He init", 25, data, test, activation="relu", init="kaiming_normal")
    run("relu + batch norm", 25, data, test, activation="relu", batch_norm=True)


if __name__ == "__main__":
    with threadpool_limits(1):  # small matrices: one BLAS thread is fastest
        main()
