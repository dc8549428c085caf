"""Deployment latency: LeNet-5 (28x28, batch 1 and 32, one thread) in ONNX Runtime dense, with
50% of its convolution filters removed (``prune_filters``: a smaller dense model), in int8
(QDQ, calibrated on random images), and lamina's own inference beside each.

Peers: ONNX Runtime 1.x CPU (one intra-op thread) and lamina eager under ``no_grad``.
Target: the structurally pruned model is faster than the dense one in ONNX Runtime.
Run:  python -m benchmarks deploy
"""

from __future__ import annotations

import lamina
from lamina.deploy import (export_onnx, fold_batchnorm, prune_filters, quantize_static)
from lamina.deploy.report import latency, ort_session
from lamina.models import LeNet5

from .common import blas_info


def _models():
    lamina.manual_seed(0)
    dense = LeNet5(batch_norm=True).eval()
    x = lamina.rand(64, 1, 28, 28)
    pruned = prune_filters(dense, 0.5, x[:2]).eval()
    int8 = quantize_static(fold_batchnorm(dense), x)
    return {"dense": dense, "filters -50%": pruned, "int8 (QDQ)": int8}, x


def main(repeats: int = 50):
    print(blas_info())
    models, x = _models()
    rows = []
    for name, m in models.items():
        proto = export_onnx(m, x[:1])
        sess = ort_session(proto, threads=1)
        for bs in (1, 32):
            xb = x[:bs]
            feed = {"input": xb.numpy()}
            o = latency(lambda: sess.run(None, feed), repeats)
            with lamina.no_grad():
                lam = latency(lambda: m(xb), max(5, repeats // 5))
            rows.append((name, bs, o["p50_ms"], o["p95_ms"], lam["p50_ms"],
                         len(proto.SerializeToString())))
    print(f"{'model':<14}{'batch':>6}{'ORT p50':>10}{'ORT p95':>10}{'lamina p50':>12}"
          f"{'onnx KiB':>10}")
    for r in rows:
        print(f"{r[0]:<14}{r[1]:>6}{r[2]:>10.3f}{r[3]:>10.3f}{r[4]:>12.3f}{r[5] / 1024:>10.1f}")
    base = {bs: p50 for n, bs, p50, *_ in rows if n == "dense"}
    for n, bs, p50, *_ in rows:
        if n != "dense":
            print(f"ORT speed-up of {n} at batch {bs}: {base[bs] / p50:.2f}x")
    return rows


if __name__ == "__main__":
    main()
