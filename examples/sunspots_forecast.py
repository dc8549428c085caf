"""Forecast yearly sunspot numbers one year ahead with a GRU, against seasonal-naive baselines.

Data: statsmodels' yearly sunspots 1700-2008 via ``lamina.datasets.load('sunspots')``: windows
of the previous 11 years, standardized with training statistics, split chronologically (the
last 20% of the series, 1947-2008, is the test part).

Baselines on the same test targets:
- seasonal naive: the value one solar cycle (11 years) earlier, i.e. the window's first value;
- persistence: last year's value.

Run:  python examples/sunspots_forecast.py [--rnn lstm] [--out sunspots_forecast.png]
Expected (seed 0): GRU test RMSE about 18, seasonal naive 37.9, persistence 33.3 (in sunspot
number units); writes a plot of the test years.
"""

import argparse
import time

import lamina
import lamina.functional as F
from lamina import backend as B
from lamina import data as D
from lamina import datasets, optim
from lamina.models import Forecaster
from lamina.train import Trainer

np = B.np


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rnn", default="gru", choices=("gru", "lstm"))
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="sunspots_forecast.png")
    args = ap.parse_args()

    d = datasets.load("sunspots", flatten=False)  # x (N, 11, 1), y (N,), standardized
    lamina.manual_seed(args.seed)
    model = Forecaster(hidden_size=args.hidden, rnn=args.rnn)
    lamina.summary(model, d.input_shape)
    opt = optim.Adam(model.parameters(), lr=5e-3)
    loader = D.DataLoader(D.ArrayDataset(d.x_train, d.y_train.reshape(-1, 1)), batch_size=16,
                          shuffle=True, seed=args.seed)
    start = time.perf_counter()
    Trainer(model, opt, F.mse_loss, metrics=()).fit(loader, epochs=args.epochs, verbose=0)
    model.eval()
    with lamina.no_grad():
        pred = model(lamina.tensor(d.x_test)).numpy()[:, 0]

    def units(a):  # back to sunspot numbers
        return d.scaler.inverse_transform(np.asarray(a).reshape(-1, 1))[:, 0]

    y = units(d.y_test)
    forecasts = {f"{args.rnn.upper()} forecaster": units(pred),
                 "seasonal naive (t-11)": units(d.x_test[:, 0, 0]),
                 "persistence (t-1)": units(d.x_test[:, -1, 0])}
    print(f"trained in {time.perf_counter() - start:.1f} s; test years "
          f"{d.time[d.split_index]}-{d.time[-1]}")
    for name, f in forecasts.items():
        print(f"{name:<24} test RMSE {np.sqrt(np.mean((f - y) ** 2)):6.2f}")

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    years = d.time[d.split_index:]
    fig, ax = plt.subplots(figsize=(9, 3.6))
    ax.plot(d.time, units(d.series), color="0.75", lw=1, label="series (train part in grey)")
    ax.plot(years, y, color="k", lw=1.5, label="actual (test)")
    for (name, f), style in zip(forecasts.items(), ("-", ":", "--")):
        ax.plot(years, f, style, lw=1.3, label=name)
    ax.set_xlim(d.time[d.split_index] - 40, d.time[-1] + 1)
    ax.set_xlabel("year")
    ax.set_ylabel("sunspot number")
    ax.set_title("One-year-ahead forecasts on the test years")
    ax.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    fig.savefig(args.out, dpi=120)
    print(f"plot written to {args.out}")


if __name__ == "__main__":
    main()
