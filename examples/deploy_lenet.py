"""LeNet-5 from training to ONNX Runtime: train -> prune -> quantize -> export -> run.

Trains LeNet-5 (BatchNorm) on mnist5k, removes half of its convolution filters
(``prune_filters``) and fine-tunes, quantizes to int8 (post-training static, 512 calibration
images), exports the float, pruned and int8 models to ONNX, runs each in ONNX Runtime and
prints accuracy, size and latency side by side.

Run:  python examples/deploy_lenet.py [--epochs 4] [--finetune 2] [--out deploy_out]
"""

import argparse
import os
import time

import lamina
from lamina import datasets, optim
from lamina.deploy import (export_onnx, fold_batchnorm, model_size_bytes, ort_predict,
                           prune_filters, quantize_static)
from lamina.deploy.report import latency, ort_session
from lamina.models import LeNet5
from lamina.train import Trainer


def fit(model, d, epochs, lr):
    Trainer(model, optim.Adam(model.parameters(), lr=lr), "cross_entropy").fit(
        (d.x_train, d.y_train), epochs=epochs, batch_size=64, verbose=0)
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--finetune", type=int, default=2)
    ap.add_argument("--out", default="deploy_out")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    d = datasets.load("mnist5k")
    lamina.manual_seed(0)
    t0 = time.time()
    dense = fit(LeNet5(batch_norm=True), d, args.epochs, 2e-3)
    small = fit(prune_filters(dense, 0.5, lamina.tensor(d.x_test[:2])), d, args.finetune, 1e-3)
    int8 = quantize_static(fold_batchnorm(small), d.x_train, limit=512)
    print(f"trained, pruned and quantized in {time.time() - t0:.0f} s")
    print(f"{'model':<16}{'ORT acc':>9}{'size KiB':>10}{'onnx KiB':>10}{'ORT p50 ms (b=1)':>18}")
    for name, m in (("dense", dense), ("filters -50%", small), ("pruned + int8", int8)):
        path = os.path.join(args.out, name.replace(" ", "_").replace("%", "") + ".onnx")
        export_onnx(m.eval(), lamina.tensor(d.x_test[:1]), path)
        acc = float((ort_predict(path, d.x_test).argmax(1) == d.y_test).mean())
        sess = ort_session(path)
        one = {"input": d.x_test[:1]}
        p50 = latency(lambda: sess.run(None, one), 50)["p50_ms"]
        print(f"{name:<16}{acc:>9.4f}{model_size_bytes(m) / 1024:>10.1f}"
              f"{os.path.getsize(path) / 1024:>10.1f}{p50:>18.3f}")
    print(f"ONNX files in {args.out}/ (run them with onnxruntime.InferenceSession)")


if __name__ == "__main__":
    main()
