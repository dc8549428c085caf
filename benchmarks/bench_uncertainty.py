"""Calibration workloads next to their anchors: ECE vs torchmetrics' ``calibration_error`` and
fitting a temperature (SciPy L-BFGS on closed-form gradients) vs ``torch.optim.LBFGS`` on a
temperature parameter, both on 20,000 x 10 logits. Run by ``python -m benchmarks uncertainty``.
"""

from __future__ import annotations

import numpy as np

from .common import alternate, blas_info, table, torch_or_none

N, C = 20_000, 10


def _data():
    rs = np.random.default_rng(0)
    z = (rs.standard_normal((N, C)) * 4).astype(np.float32)
    y = rs.integers(0, C, N)
    e = np.exp(z - z.max(1, keepdims=True))
    return z, y, (e / e.sum(1, keepdims=True)).astype(np.float32)


def main():
    from lamina.metrics import expected_calibration_error
    from lamina.uncertainty import TemperatureScaling
    torch = torch_or_none()
    print(f"BLAS: {blas_info()}")
    z, y, p = _data()
    fns = {"lamina": lambda: expected_calibration_error(p, y, n_bins=15)}
    if torch is not None:
        try:
            from torchmetrics.functional.classification import multiclass_calibration_error
        except ImportError:
            multiclass_calibration_error = None
        if multiclass_calibration_error is not None:
            tp, ty = torch.tensor(p), torch.tensor(y)
            fns["torchmetrics"] = lambda: multiclass_calibration_error(tp, ty, C, n_bins=15)
    times = alternate(fns, rounds=7, repeat=10, warmup=2)
    base = "torchmetrics" if "torchmetrics" in fns else "lamina"
    table(f"ECE, {N} x {C} probabilities, 15 bins", times, base=base, per=N)

    fits = {"lamina (SciPy L-BFGS)": lambda: TemperatureScaling().fit(z, y)}
    if torch is not None:
        tz, ty = torch.tensor(z, dtype=torch.float64), torch.tensor(y)

        def torch_fit():
            log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
            opt = torch.optim.LBFGS([log_t], max_iter=200, line_search_fn="strong_wolfe")

            def closure():
                opt.zero_grad()
                loss = torch.nn.functional.cross_entropy(tz * torch.exp(-log_t), ty)
                loss.backward()
                return loss
            opt.step(closure)
            return float(torch.exp(log_t.detach()))
        fits["pytorch LBFGS"] = torch_fit
    times = alternate(fits, rounds=5, repeat=2, warmup=1)
    base = "pytorch LBFGS" if "pytorch LBFGS" in fits else "lamina (SciPy L-BFGS)"
    table(f"temperature fit, {N} x {C} logits", times, base=base, per=N)


if __name__ == "__main__":
    main()
