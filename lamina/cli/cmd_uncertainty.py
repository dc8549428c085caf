"""``lamina calibrate RUN_DIR``: fit temperature scaling on a finished classification run's
validation split and report the test calibration before and after.

Writes ``RUN_DIR/calibration.json`` (the fitted calibrator, read back with
``lamina.uncertainty.load_calibrator``), ``OUT/reliability_before.png``,
``OUT/reliability_after.png`` and ``OUT/calibration_report.json`` (ECE, MCE, NLL, Brier and
accuracy, before and after). ``OUT`` defaults to the run directory.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["register", "run", "calibrate"]


def register(subparsers) -> None:
    """Add the ``calibrate`` subcommand to the ``lamina`` parser."""
    p = subparsers.add_parser("calibrate", help="fit temperature scaling on a run's validation "
                              "split; ECE and reliability diagrams before/after")
    p.add_argument("run_dir", help="a finished `lamina train` classification run directory")
    p.add_argument("--method", default="temperature", choices=("temperature", "vector",
                                                               "matrix"),
                   help="calibration map (default temperature)")
    p.add_argument("--bins", type=int, default=15, help="ECE bins (default 15)")
    p.add_argument("-o", "--out", default=None, help="figure directory (default RUN_DIR)")
    p.set_defaults(func=run)


def calibrate(run_dir, method: str = "temperature", n_bins: int = 15, out=None) -> dict:
    """Fit the calibrator on the run's validation part; metrics on its test part.

    Args:
        run_dir: a finished classification run (its config must keep ``data.val_size > 0``).
        method (str): ``"temperature"`` (default), ``"vector"`` or ``"matrix"``.
        n_bins (int): ECE bins. Default 15.
        out (str, optional): where the figures and the report go. Default ``run_dir``.

    Returns:
        dict: ``before`` and ``after`` metric dicts, ``temperature`` (temperature scaling),
        ``files`` written.
    """
    from .. import metrics as M
    from ..uncertainty import TemperatureScaling
    from .commands import _predict, _softmax
    from .data import prepare_data
    from .runs import load_run

    model, cfg, arch = load_run(run_dir)
    if arch.get("task", "classification") != "classification":
        raise ValueError(f"calibrate: expected a classification run, got a {arch['task']} run "
                         f"({run_dir})")
    rd = prepare_data(cfg)
    if rd.x_val is None or len(rd.x_val) == 0:
        raise ValueError(f"calibrate: expected a validation split in {run_dir} "
                         f"(data.val_size > 0), got val_size={cfg['data'].get('val_size', 0)}; "
                         "train with --set data.val_size=0.1")
    z_val, z_test = _predict(model, rd.x_val), _predict(model, rd.x_test)
    cal = TemperatureScaling(method).fit(z_val, rd.y_val)
    p0, p1 = _softmax(z_test.astype("float64")), cal.transform(z_test)

    def report(p):
        return {"ece": M.expected_calibration_error(p, rd.y_test, n_bins),
                "mce": M.maximum_calibration_error(p, rd.y_test, n_bins),
                "nll": M.negative_log_likelihood(p, rd.y_test),
                "brier": M.brier_score(p, rd.y_test), "accuracy": M.accuracy(rd.y_test, p)}

    run, dest = Path(run_dir), Path(out) if out else Path(run_dir)
    dest.mkdir(parents=True, exist_ok=True)
    cal.save(run / "calibration.json")
    files = [run / "calibration.json", dest / "reliability_before.png",
             dest / "reliability_after.png", dest / "calibration_report.json"]
    M.reliability_diagram(p0, rd.y_test, files[1], n_bins, title="before")
    M.reliability_diagram(p1, rd.y_test, files[2], n_bins, title=f"after ({method})")
    res = {"method": method, "before": report(p0), "after": report(p1),
           "temperature": cal.temperature if method == "temperature" else None,
           "n_val": int(len(rd.y_val)), "n_test": int(len(rd.y_test))}
    files[3].write_text(json.dumps(res, indent=1), encoding="utf-8")
    res["files"] = [str(f) for f in files]
    return res


def run(args) -> int:
    """``lamina calibrate``: print before/after test ECE and where the files went."""
    res = calibrate(args.run_dir, args.method, args.bins, args.out)
    b, a = res["before"], res["after"]
    if res["temperature"] is not None:
        print(f"temperature {res['temperature']:.3f} (fitted on {res['n_val']} validation "
              "samples)")
    print(f"test ECE {100 * b['ece']:.2f}% -> {100 * a['ece']:.2f}%, NLL {b['nll']:.4f} -> "
          f"{a['nll']:.4f}, accuracy {b['accuracy']:.3f} -> {a['accuracy']:.3f}")
    for f in res["files"]:
        print(f"wrote {f}")
    return 0
