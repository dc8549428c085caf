"""Self-organizing map on 8x8 digits: quantization/topographic error per epoch, node-label
classification of held-out digits, and the U-matrix with majority labels (``som_umatrix.png``)
in ``--out``.

    python examples/som_digits.py --out out/ [--mode batch|online] [--rows 10 --cols 10]
"""

import argparse
import os

import lamina
from lamina import datasets
from lamina.models import SOM


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out/")
    ap.add_argument("--dataset", default="digits", choices=["digits", "iris", "wine"])
    ap.add_argument("--rows", type=int, default=10)
    ap.add_argument("--cols", type=int, default=10)
    ap.add_argument("--mode", default="batch", choices=["batch", "online"])
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    lamina.manual_seed(args.seed)
    d = datasets.load(args.dataset, flatten=True)

    som = SOM(args.rows, args.cols, d.x_train.shape[1])
    som.fit(d.x_train, epochs=args.epochs, mode=args.mode, verbose=1)
    som.label_map(d.x_train, d.y_train)
    acc = float((som.predict(d.x_test) == d.y_test).mean())
    print(f"held-out: quantization error {som.quantization_error(d.x_test):.3f}, topographic "
          f"error {som.topographic_error(d.x_test):.3f}, node-label accuracy {acc:.3f}")
    path = os.path.join(args.out, "som_umatrix.png")
    som.plot_umatrix(path, class_names=d.class_names,
                     title=f"{args.dataset}: U-matrix and majority labels")
    print("wrote", path)


if __name__ == "__main__":
    main()
