"""``lamina robustness RUN_DIR --eps 0.05,0.1,0.2,0.3 -o DIR``: an attack ladder on a finished
classification run's test data, with gradient-masking warnings.

Writes ``DIR/robustness.md`` (the table and warnings), ``DIR/robustness.json``,
``DIR/accuracy_vs_eps.png`` and ``DIR/adversarial_grid.png`` (clean / PGD / perturbation, for
image inputs).
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["register", "run"]


def register(subparsers) -> None:
    """Add the ``robustness`` subcommand to the ``lamina`` parser."""
    p = subparsers.add_parser("robustness", help="attack ladder and robust accuracy of a "
                              "finished classification run")
    p.add_argument("run_dir", help="a finished `lamina train` run directory")
    p.add_argument("--eps", default="0.05,0.1,0.2,0.3",
                   help="comma-separated L-inf budgets (default 0.05,0.1,0.2,0.3)")
    p.add_argument("-o", "--out", default=None,
                   help="output directory (default RUN_DIR/robustness)")
    p.add_argument("-n", "--samples", type=int, default=500,
                   help="test samples attacked (default 500)")
    p.add_argument("--steps", type=int, default=20, help="PGD/APGD steps (default 20)")
    p.add_argument("--square-queries", type=int, default=300,
                   help="Square attack queries, 0 skips it (default 300)")
    p.add_argument("--batch-size", type=int, default=256, help="attack batch (default 256)")
    p.add_argument("--clip", default=None, metavar="MIN,MAX",
                   help="valid input range (default: the test inputs' min and max)")
    p.set_defaults(func=run)


def _floats(text, what, n=None):
    try:
        vals = [float(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"robustness: expected {what} as comma-separated numbers, got "
                         f"{text!r}") from None
    if not vals or (n is not None and len(vals) != n):
        raise ValueError(f"robustness: expected {what}, got {text!r}")
    return vals


def run(args) -> int:
    """Run the report and write its files; returns 0."""
    from .. import backend as B
    from .. import robust as R
    from .data import prepare_data
    from .runs import load_run
    np = B.np
    eps = _floats(args.eps, "--eps like 0.05,0.1")
    if min(eps) < 0:
        raise ValueError(f"robustness: expected --eps >= 0, got {args.eps!r}")
    model, cfg, arch = load_run(args.run_dir)
    if arch.get("task") != "classification":
        raise ValueError(f"robustness: expected a classification run, got task "
                         f"{arch.get('task')!r} in {args.run_dir}")
    rd = prepare_data(cfg)
    x = np.asarray(rd.x_test)[:args.samples]
    y = np.asarray(rd.y_test).astype(np.int64)[:args.samples]
    lo, hi = (_floats(args.clip, "--clip MIN,MAX", 2) if args.clip else
              (float(x.min()), float(x.max())))
    rep = R.robustness_report(model, (x, y), eps, batch_size=args.batch_size,
                              square_queries=args.square_queries, steps=args.steps,
                              clip_min=lo, clip_max=hi)
    out = Path(args.out) if args.out else Path(args.run_dir) / "robustness"
    out.mkdir(parents=True, exist_ok=True)
    text = (f"# Robustness of {args.run_dir}\n\n{len(x)} test samples, inputs in "
            f"[{lo:g}, {hi:g}], L-inf budgets.\n\n{rep}\n")
    (out / "robustness.md").write_text(text, encoding="utf-8")
    (out / "robustness.json").write_text(json.dumps(rep.to_dict(), indent=2), encoding="utf-8")
    R.plot_accuracy_curves(rep, out / "accuracy_vs_eps.png")
    if x.ndim == 4 and x.shape[1] in (1, 3):
        e = eps[len(eps) // 2]
        adv = R.PGD(model, eps=e, alpha=2.5 * e / args.steps, steps=args.steps, clip_min=lo,
                    clip_max=hi)(x[:8], y[:8])
        pred = R._util.logits_of(model, adv).argmax(axis=1)
        scale = (hi - lo) or 1.0
        R.plot_adversarial_grid((x[:8] - lo) / scale, (adv - lo) / scale,
                                out / "adversarial_grid.png", labels=y[:8], preds=pred)
    print(rep)
    print(f"wrote {out}/robustness.md, robustness.json, accuracy_vs_eps.png")
    return 0
