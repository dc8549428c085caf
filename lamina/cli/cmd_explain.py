"""``lamina explain RUN_DIR --method integrated_gradients --index 0:16 -o DIR``: attributions of a
finished classification run's test samples.

Image runs: ``DIR/overlays.png`` (signed heat maps over the inputs) and ``DIR/explain.md`` (one
row per sample: label, prediction, score, attribution sum, completeness gap where the method
has one). Tabular runs: ``DIR/summary.png`` (beeswarm), ``DIR/bar.png`` and the top features
in ``DIR/explain.md``. ``DIR/explain.json`` holds the table's numbers.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["register", "run", "METHODS"]

METHODS = ("integrated_gradients", "saliency", "input_x_gradient", "guided_backprop",
           "deeplift", "gradcam", "occlusion", "shap", "lime")


def register(subparsers) -> None:
    """Add the ``explain`` subcommand to the ``lamina`` parser."""
    p = subparsers.add_parser("explain", help="attributions (IG, Grad-CAM, SHAP, ...) of a "
                              "finished classification run's test samples")
    p.add_argument("run_dir", help="a finished `lamina train` run directory")
    p.add_argument("--method", default="integrated_gradients", choices=METHODS,
                   help="attribution method (default integrated_gradients)")
    p.add_argument("--index", default="0:16",
                   help="test samples: START:STOP or comma-separated indices (default 0:16)")
    p.add_argument("-o", "--out", default=None, help="output directory (default RUN_DIR/explain)")
    p.add_argument("--target", default="pred", choices=("pred", "label"),
                   help="explain the predicted class or the true label (default pred)")
    p.add_argument("--steps", type=int, default=50, help="IG steps (default 50)")
    p.add_argument("--samples", type=int, default=200,
                   help="SHAP / LIME samples per row (default 200)")
    p.add_argument("--top", type=int, default=10, help="features in tabular plots (default 10)")
    p.set_defaults(func=run)


def _indices(text, n):
    try:
        if ":" in text:
            a, b = (int(v) if v else None for v in text.split(":", 1))
            idx = list(range(n))[slice(a, b)]
        else:
            idx = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"explain: expected --index like 0:16 or 1,5,9, got {text!r}") from None
    if not idx or min(idx) < -n or max(idx) >= n:
        raise ValueError(f"explain: expected --index within the {n} test samples, got {text!r}")
    return idx


def _last_conv(model):
    from ..nn.conv import Conv2d
    convs = [m for m in model.modules() if isinstance(m, Conv2d)]
    if not convs:
        raise ValueError("explain: --method gradcam expected a model with a Conv2d layer, got "
                         f"{type(model).__name__} without one")
    return convs[-1]


def _attribute(method, model, x, target, args, background):
    from .. import backend as B
    from .. import explain as E
    np = B.np
    delta = None
    if method == "integrated_gradients":
        a, delta = E.IntegratedGradients(model).attribute(
            x, target=target, n_steps=args.steps, internal_batch_size=max(len(x), 512),
            return_convergence_delta=True)
    elif method == "saliency":
        a = E.Saliency(model).attribute(x, target=target)
    elif method == "input_x_gradient":
        a = E.InputXGradient(model).attribute(x, target=target)
    elif method == "guided_backprop":
        a = E.GuidedBackprop(model).attribute(x, target=target)
    elif method == "deeplift":
        a, delta = E.DeepLift(model).attribute(x, target=target, return_convergence_delta=True)
    elif method == "gradcam":
        cam = E.LayerGradCam(model, _last_conv(model)).attribute(x, target=target,
                                                                relu_attributions=True)
        a = E.LayerAttribution.interpolate(cam, x.shape[2:], "bilinear")
    elif method == "occlusion":
        w = (x.shape[1],) + tuple(max(1, s // 7) for s in x.shape[2:])
        a = E.Occlusion(model).attribute(x, w, strides=tuple(max(1, s // 2) for s in w),
                                         target=target)
    else:
        base = background.mean(0, keepdims=True)
        cls = E.KernelShap if method == "shap" else E.Lime
        a = cls(model).attribute(x, baselines=base, target=target, n_samples=args.samples)
    return np.asarray(a.numpy()), (None if delta is None else np.asarray(delta))


def run(args) -> int:
    """Explain the chosen test samples and write the files; returns 0."""
    from .. import backend as B
    from ..autograd import Tensor, no_grad
    from ..explain import plot
    from .data import prepare_data
    from .runs import load_run
    np = B.np
    model, cfg, arch = load_run(args.run_dir)
    if arch.get("task") != "classification":
        raise ValueError(f"explain: expected a classification run, got task "
                         f"{arch.get('task')!r}")
    rd = prepare_data(cfg)
    x_all = np.asarray(rd.x_test)
    idx = _indices(args.index, len(x_all))
    x, y = x_all[idx], np.asarray(rd.y_test)[idx]
    with no_grad():
        logits = model(Tensor(x)).numpy()
    pred = logits.argmax(1)
    target = pred if args.target == "pred" else y
    image = x.ndim == 4
    if args.method in ("gradcam", "occlusion", "guided_backprop") and not image:
        raise ValueError(f"explain: --method {args.method} expected image inputs (N, C, H, W), "
                         f"got samples of shape {tuple(x.shape[1:])}")
    attr, delta = _attribute(args.method, model, x, target, args, np.asarray(rd.x_train))
    out = Path(args.out) if args.out else Path(args.run_dir) / "explain"
    out.mkdir(parents=True, exist_ok=True)
    names = arch.get("class_names") or [str(c) for c in range(logits.shape[1])]
    rows = [{"index": int(i), "label": names[int(t)], "pred": names[int(p)],
             "score": float(logits[k, target[k]]), "attr_sum": float(attr[k].sum()),
             **({} if delta is None else {"delta": float(delta[k])})}
            for k, (i, t, p) in enumerate(zip(idx, y, pred))]
    lines = [f"# lamina explain: {args.method} on {len(idx)} test samples of {args.run_dir}", ""]
    if image:
        plot.image_grid(x, attr, titles=[f"{r['label']}->{r['pred']}" for r in rows],
                        path=out / "overlays.png")
        cols = ["index", "label", "pred", "score", "attr_sum"] + (["delta"] if delta is not None
                                                                  else [])
        lines += ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
        lines += ["| " + " | ".join(f"{r[c]:.4g}" if isinstance(r[c], float) else str(r[c])
                                    for c in cols) + " |" for r in rows]
        files = ["overlays.png"]
    else:
        feats = list(rd.meta.get("inputs", {}).get("columns") or []) or None
        flat = attr.reshape(len(attr), -1)
        plot.beeswarm(flat, x.reshape(len(x), -1), feats, args.top, path=out / "summary.png")
        plot.summary_bar(flat, feats, args.top, path=out / "bar.png")
        imp = np.abs(flat).mean(0)
        order = np.argsort(-imp)[:args.top]
        lines += ["| rank | feature | mean abs attribution |", "|---|---|---|"]
        lines += [f"| {r + 1} | {feats[j] if feats else f'x[{j}]'} | {imp[j]:.4g} |"
                  for r, j in enumerate(order)]
        files = ["summary.png", "bar.png"]
    (out / "explain.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out / "explain.json").write_text(json.dumps({"method": args.method, "rows": rows},
                                                 indent=1), encoding="utf-8")
    print(f"explain: {args.method} on {len(idx)} samples; wrote "
          + ", ".join(str(out / f) for f in files + ["explain.md", "explain.json"]))
    return 0
