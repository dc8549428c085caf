"""CNN workloads (conv/pool, seed Q24-25): lamina vs PyTorch CPU eager vs hand-written NumPy.

Network (28x28 inputs, 'valid' convolutions): conv5x5 1->32, relu, maxpool2, conv5x5 32->64,
relu, maxpool2, flatten (64*4*4 = 1024), fc 1024->128, relu, fc 128->10; float32.

1. Training step (forward, cross-entropy, backward, Adam), batch 64.
2. Inference (forward only, no graph), batch 256.
3. Peak memory of training: tracemalloc of one step (lamina with its buffer cache emptied
   first, NumPy) and, for all three peers side by side, the peak RSS of a fresh subprocess over
   its first 3 steps minus its RSS after building model and data (Adam state included).

Every peer uses 2 threads (threadpoolctl for NumPy's BLAS and lamina's kernel threads,
``torch.set_num_threads(2)``); timings are medians of alternating rounds, printed with ratios
measured in the same run (plus the ratio of the best rounds, which other processes on the
machine disturb least). Targets: lamina >= 0.9x PyTorch's training throughput, >= 1.0x its
inference throughput.

Run: ``python -m benchmarks cnn`` (or ``python -m benchmarks.bench_cnn [--threads 2,1]``).
"""

from __future__ import annotations

import gc
import os
import statistics
import subprocess
import sys
import time
import tracemalloc

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

import lamina
import lamina.functional as F
from lamina import nn, optim
from lamina.backend import kernels as K

from .common import alternate_samples, blas_info, table, torch_or_none

TRAIN_BATCH, INFER_BATCH, LR = 64, 256, 1e-3


def make_weights(seed: int = 0) -> dict:
    """PyTorch's default initial weights, U(+-1/sqrt(fan_in)), as float32 arrays."""
    rs = np.random.default_rng(seed)
    shapes = {"c1w": (32, 1, 5, 5), "c1b": (32,), "c2w": (64, 32, 5, 5), "c2b": (64,),
              "f1w": (128, 1024), "f1b": (128,), "f2w": (10, 128), "f2b": (10,)}
    fan_in = {"c1": 25, "c2": 800, "f1": 1024, "f2": 128}
    return {k: rs.uniform(-1, 1, s).astype(np.float32) / np.float32(np.sqrt(fan_in[k[:2]]))
            for k, s in shapes.items()}


def make_data(batch: int, seed: int = 1):
    rs = np.random.default_rng(seed)
    x = rs.standard_normal((batch, 1, 28, 28), dtype=np.float32)
    y = rs.integers(0, 10, batch)
    return x, y


# ----------------------------------------------------------------------------- lamina
class LaminaCNN(nn.Module):
    def __init__(self, w):
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 32, 5), nn.Conv2d(32, 64, 5)
        self.fc1_w, self.fc1_b = nn.Parameter(w["f1w"].copy()), nn.Parameter(w["f1b"].copy())
        self.fc2_w, self.fc2_b = nn.Parameter(w["f2w"].copy()), nn.Parameter(w["f2b"].copy())
        for name, conv in (("c1", self.conv1), ("c2", self.conv2)):
            conv.weight.array, conv.bias.array = w[name + "w"].copy(), w[name + "b"].copy()

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.flatten(x, 1)
        x = F.relu(F.linear(x, self.fc1_w, self.fc1_b))
        return F.linear(x, self.fc2_w, self.fc2_b)


def lamina_train(w, x, y):
    model = LaminaCNN(w)
    opt = optim.Adam(model.parameters(), lr=LR)
    xt, yt = lamina.tensor(x), lamina.tensor(y)

    def step():
        opt.zero_grad()
        loss = F.cross_entropy(model(xt), yt)
        loss.backward()
        opt.step()
        return loss
    return step


def lamina_infer(w, x):
    model = LaminaCNN(w).eval()
    xt = lamina.tensor(x)

    def run():
        with lamina.no_grad():
            return model(xt)
    return run


# ----------------------------------------------------------------------------- PyTorch
def torch_model(torch, w):
    tnn = torch.nn

    class Net(tnn.Module):
        def __init__(self):
            super().__init__()
            self.conv1, self.conv2 = tnn.Conv2d(1, 32, 5), tnn.Conv2d(32, 64, 5)
            self.fc1, self.fc2 = tnn.Linear(1024, 128), tnn.Linear(128, 10)

        def forward(self, x):
            tf = torch.nn.functional
            x = tf.max_pool2d(tf.relu(self.conv1(x)), 2)
            x = tf.max_pool2d(tf.relu(self.conv2(x)), 2)
            x = tf.relu(self.fc1(x.flatten(1)))
            return self.fc2(x)

    m = Net()
    names = {"conv1.weight": "c1w", "conv1.bias": "c1b", "conv2.weight": "c2w",
             "conv2.bias": "c2b", "fc1.weight": "f1w", "fc1.bias": "f1b", "fc2.weight": "f2w",
             "fc2.bias": "f2b"}
    m.load_state_dict({k: torch.from_numpy(w[v].copy()) for k, v in names.items()})
    return m


def torch_train(torch, w, x, y):
    m = torch_model(torch, w)
    opt = torch.optim.Adam(m.parameters(), lr=LR)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step():
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(m(xt), yt)
        loss.backward()
        opt.step()
        return loss
    return step


def torch_infer(torch, w, x):
    m = torch_model(torch, w).eval()
    xt = torch.from_numpy(x)

    def run():
        with torch.inference_mode():
            return m(xt)
    return run


# ----------------------------------------------------------------------------- NumPy by hand
def np_conv_forward(x, wt, b):
    """'valid' stride-1 conv: im2col with sliding_window_view + one GEMM (NCHW throughout)."""
    n, c, h, ww = x.shape
    o, _, k, _ = wt.shape
    oh, ow = h - k + 1, ww - k + 1
    cols = sliding_window_view(x, (k, k), axis=(2, 3))            # (N, C, OH, OW, k, k)
    cols = cols.transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, c * k * k)
    y = cols @ wt.reshape(o, -1).T + b
    return np.ascontiguousarray(y.reshape(n, oh, ow, o).transpose(0, 3, 1, 2)), cols


def np_conv_backward(gy, cols, wt, xshape, need_dx):
    n, c, h, ww = xshape
    o, _, k, _ = wt.shape
    oh, ow = h - k + 1, ww - k + 1
    g2 = gy.transpose(0, 2, 3, 1).reshape(-1, o)
    dw = (g2.T @ cols).reshape(wt.shape)
    db = g2.sum(0)
    if not need_dx:
        return None, dw, db
    dcols = (g2 @ wt.reshape(o, -1)).reshape(n, oh, ow, c, k, k)
    dx = np.zeros(xshape, np.float32)
    for i in range(k):          # col2im: one strided add per kernel offset
        for j in range(k):
            dx[:, :, i:i + oh, j:j + ow] += dcols[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    return dx, dw, db


def np_pool_forward(a):
    n, c, h, w = a.shape
    r = a.reshape(n, c, h // 2, 2, w // 2, 2)
    out = r.max(axis=(3, 5))
    return out, r == out[:, :, :, None, :, None]


def np_forward(p, x, train):
    a1, cols1 = np_conv_forward(x, p["c1w"], p["c1b"])
    r1 = np.maximum(a1, 0)
    p1, m1 = np_pool_forward(r1)
    a2, cols2 = np_conv_forward(p1, p["c2w"], p["c2b"])
    r2 = np.maximum(a2, 0)
    p2, m2 = np_pool_forward(r2)
    f = p2.reshape(len(x), -1)
    h = np.maximum(f @ p["f1w"].T + p["f1b"], 0)
    z = h @ p["f2w"].T + p["f2b"]
    return z, (cols1, r1, m1, p1, cols2, r2, m2, f, h)


def numpy_train(w, x, y):
    p = {k: v.copy() for k, v in w.items()}
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(v) for k, v in p.items()}
    t = [0]
    n = len(x)

    def step():
        z, (cols1, r1, m1, p1, cols2, r2, m2, f, h) = np_forward(p, x, True)
        z = z - z.max(1, keepdims=True)
        e = np.exp(z)
        prob = e / e.sum(1, keepdims=True)
        loss = -np.log(prob[np.arange(n), y]).mean()
        gz = prob
        gz[np.arange(n), y] -= 1
        gz /= n
        g = {"f2w": gz.T @ h, "f2b": gz.sum(0)}
        gh = (gz @ p["f2w"]) * (h > 0)
        g["f1w"], g["f1b"] = gh.T @ f, gh.sum(0)
        gp2 = (gh @ p["f1w"]).reshape(p2_shape(r2))
        ga2 = (m2 * gp2[:, :, :, None, :, None]).reshape(r2.shape) * (r2 > 0)
        gp1, g["c2w"], g["c2b"] = np_conv_backward(ga2, cols2, p["c2w"], p1.shape, True)
        ga1 = (m1 * gp1[:, :, :, None, :, None]).reshape(r1.shape) * (r1 > 0)
        _, g["c1w"], g["c1b"] = np_conv_backward(ga1, cols1, p["c1w"], x.shape, False)
        t[0] += 1
        b1c, b2c = 1 - 0.9 ** t[0], 1 - 0.999 ** t[0]
        for k in p:
            m[k] += (g[k] - m[k]) * 0.1
            v[k] += (g[k] * g[k] - v[k]) * 0.001
            p[k] -= (LR / b1c) * m[k] / (np.sqrt(v[k] / b2c) + 1e-8)
        return loss
    return step


def p2_shape(r2):
    n, c, h, w = r2.shape
    return (n, c, h // 2, w // 2)


def numpy_infer(w, x):
    return lambda: np_forward(w, x, False)[0]


# ----------------------------------------------------------------------------- memory
def traced_peak_mb(step, before=None) -> float:
    """Peak bytes traced by tracemalloc during one call, in MB (``before()`` runs first: lamina
    empties its buffer cache so the step allocates, and is measured, in full)."""
    step()
    if before is not None:
        before()
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return (peak - base) / 2 ** 20


def _status_mb(key: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024.0
    raise KeyError(key)


def _rss_child(peer: str) -> None:
    """Subprocess body: peak RSS over 3 training steps of ``peer`` minus the RSS after building
    model and data (Linux: the high-water mark is reset through /proc/self/clear_refs)."""
    torch = torch_or_none() if peer == "torch" else None
    _set_threads(torch, 2)
    w = make_weights()
    x, y = make_data(TRAIN_BATCH)
    step = {"lamina": lambda: lamina_train(w, x, y), "numpy": lambda: numpy_train(w, x, y),
            "torch": lambda: torch_train(torch, w, x, y)}[peer]()
    gc.collect()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    base = _status_mb("VmRSS")
    for _ in range(3):
        step()
    print(_status_mb("VmHWM") - base)


def rss_growth_mb(peer: str) -> float | None:
    out = subprocess.run([sys.executable, "-m", "benchmarks.bench_cnn", "--rss", peer],
                         capture_output=True, text=True,
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    try:
        return float(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None


# ----------------------------------------------------------------------------- main
def _median_best(samples: dict) -> tuple:
    """(name -> median, name -> fastest round) of :func:`alternate_samples`' rounds."""
    return ({k: statistics.median(v) for k, v in samples.items()},
            {k: min(v) for k, v in samples.items()})


def _set_threads(torch, n: int) -> None:
    try:
        from threadpoolctl import threadpool_limits
        threadpool_limits(n)
    except ImportError:  # pragma: no cover
        pass
    K.set_num_threads(n)
    if torch is not None:
        torch.set_num_threads(n)


def run_timings(torch, threads: int, rounds: int) -> None:
    _set_threads(torch, threads)
    w = make_weights()
    x, y = make_data(TRAIN_BATCH)
    xi, _ = make_data(INFER_BATCH, seed=2)
    train = {"lamina": lamina_train(w, x, y), "numpy (hand-written im2col)": numpy_train(w, x, y)}
    infer = {"lamina": lamina_infer(w, xi), "numpy (hand-written im2col)": numpy_infer(w, xi)}
    if torch is not None:
        train["torch (CPU eager)"] = torch_train(torch, w, x, y)
        infer["torch (CPU eager)"] = torch_infer(torch, w, xi)
    base = "torch (CPU eager)" if torch is not None else "lamina"
    print(f"\n--- {threads} thread(s) per peer (load average {os.getloadavg()[0]:.1f}) ---")
    tt = _median_best(alternate_samples(train, rounds, repeat=5, warmup=2))
    table(f"CNN training step, batch {TRAIN_BATCH} (forward + backward + Adam)", tt[0], base,
          TRAIN_BATCH, best=tt[1])
    ti = _median_best(alternate_samples(infer, rounds, repeat=2, warmup=2))
    table(f"CNN inference, batch {INFER_BATCH}", ti[0], base, INFER_BATCH, best=ti[1])
    if torch is not None:
        print(f"\n  lamina / torch throughput ({threads} thread(s)): train "
              f"x{tt[0][base] / tt[0]['lamina']:.2f} (target >= 0.9), inference "
              f"x{ti[0][base] / ti[0]['lamina']:.2f} (target >= 1.0)")


def report_memory(torch) -> None:
    _set_threads(torch, 2)
    w = make_weights()
    x, y = make_data(TRAIN_BATCH)
    print(f"\nPeak memory of training, batch {TRAIN_BATCH} (MB)")
    print(f"  {'peer':<28} {'tracemalloc, 1 step':>20} {'peak RSS - RSS before, 3 steps':>32}")
    peers = [("lamina", "lamina", lambda: lamina_train(w, x, y)),
             ("numpy (hand-written im2col)", "numpy", lambda: numpy_train(w, x, y))]
    if torch is not None:
        peers.append(("torch (CPU eager)", "torch", None))
    for name, key, make in peers:
        before = K.CACHE.clear if key == "lamina" else None
        tm = f"{traced_peak_mb(make(), before):20.1f}" if make else f"{'n/a':>20}"
        rss = rss_growth_mb(key)
        rss_s = f"{rss:32.1f}" if rss is not None else f"{'failed':>32}"
        print(f"  {name:<28} {tm} {rss_s}")


def _wait_for_quiet(limit: float = 1.5, max_wait: float = 90.0) -> None:
    """Other processes on a 2-core machine wreck 2-thread timings (spinning BLAS/OpenMP
    threads wait on descheduled partners): wait up to ``max_wait`` s for the 1-minute load
    average to fall below ``limit``."""
    t0 = time.time()
    while os.getloadavg()[0] > limit and time.time() - t0 < max_wait:
        time.sleep(5)
    print(f"load average {os.getloadavg()[0]:.1f} after waiting {time.time() - t0:.0f} s "
          f"(<= {limit} is quiet)")


def main(threads=(2,), rounds: int = 9):
    """Print the timing tables for each thread count in ``threads``, then memory."""
    torch = torch_or_none()
    _wait_for_quiet()
    _set_threads(torch, threads[0])
    print(f"BLAS: {blas_info()}")
    if torch is not None:
        print(f"torch {torch.__version__} (mkldnn "
              f"{'on' if torch.backends.mkldnn.is_available() else 'off'}); "
              f"{os.cpu_count()} CPUs; other processes skew timings: see the load averages")
    for n in threads:
        run_timings(torch, n, rounds)
    report_memory(torch)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--rss":
        _rss_child(sys.argv[2])
    elif len(sys.argv) == 3 and sys.argv[1] == "--threads":
        main(tuple(int(t) for t in sys.argv[2].split(",")))
    else:
        main()
