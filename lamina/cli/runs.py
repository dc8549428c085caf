"""Using a finished run: evaluate, predict; and the config-only commands: summary, datasets."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from .. import backend as B
from .. import data as D
from .. import datasets, io
from ..autograd import no_grad, zeros
from .build import build_model
from .config import ConfigError, load_config, validate
from .commands import _predict, _report, _softmax, _test_metrics
from .data import RunData, prepare_data

np = B.np

__all__ = ["load_run", "evaluate", "predict", "summary", "datasets_table", "flops_table"]


def _scaler(entry):
    if entry is None:
        return None
    cls = {"Standardize": D.Standardize, "MinMaxScale": D.MinMaxScale}[entry["type"]]
    return cls().load_state_dict(entry["state"])


def load_run(run_dir):
    """Rebuild a run's model (weights loaded, eval mode), its config and architecture record."""
    run = Path(run_dir)
    for f in ("config.toml", "model.json", "model.safetensors"):
        if not (run / f).exists():
            raise ConfigError(f"{run}: not a finished run directory (missing {f}); train one "
                              "with `lamina train`")
    cfg = validate(load_config(str(run / "config.toml")))
    try:
        arch = json.loads((run / "model.json").read_text(encoding="utf-8"))
        model = build_model(arch["model"], tuple(arch["input_shape"]), arch["n_out"])
    except (ValueError, KeyError, TypeError) as e:
        raise ConfigError(f"{run / 'model.json'} is damaged ({type(e).__name__}: {e}); "
                          "train the run again") from None
    try:
        model.load_state_dict(io.load(run / "model.safetensors"))
    except (ValueError, KeyError, RuntimeError) as e:
        raise ConfigError(f"{run / 'model.safetensors'} does not fit the run's model "
                          f"({str(e).splitlines()[0]}); train the run again") from None
    model.eval()
    return model, cfg, arch


def _number(text) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _csv_features(p, inputs):
    """Rows of a predict CSV -> (float matrix in the training column order, how matched)."""
    with open(p, newline="", encoding="utf-8") as f:
        rows = [(i + 1, r) for i, r in enumerate(csv.reader(f)) if any(c.strip() for c in r)]
    columns = inputs.get("columns")
    header = bool(rows) and not all(_number(c) for c in rows[0][1])
    names = [c.strip() for c in rows[0][1]] if header else None
    rows = rows[1:] if header else rows
    if not rows:
        raise ConfigError(f"input file {p}: expected at least one data row, got none")
    width = len(names) if header else len(rows[0][1])
    for ln, r in rows:
        if len(r) != width:
            raise ConfigError(f"input file {p}: expected {width} fields per row, got {len(r)} "
                              f"on line {ln}; check the delimiter and quoting")
    if header and columns:
        missing = [c for c in columns if c not in names]
        extra = [c for c in names if c not in columns]
        if missing or extra:
            raise ConfigError(f"input file {p}: header must name the training columns; missing "
                              f"{missing}, unexpected {extra} (or drop the header to match by "
                              "position)")
        order, how = [names.index(c) for c in columns], "by header name"
    else:
        if columns and width != len(columns):
            raise ConfigError(f"input file {p}: expected {len(columns)} columns "
                              f"({', '.join(columns)}), got {width}")
        order, how = list(range(width)), "by position"
    cats = inputs.get("categories") or {}
    feats = []
    for j, k in enumerate(order):
        name = columns[j] if columns else f"column {k}"
        cells = [r[k].strip() for _, r in rows]
        if name in cats:
            known = cats[name]
            bad = [(ln, v) for (ln, _), v in zip(rows, cells) if v not in known]
            if bad:
                raise ConfigError(f"input file {p}: column {name!r} expected one of {known}, "
                                  f"got {bad[0][1]!r} on line {bad[0][0]}")
            feats.append(np.array([[float(v == c) for c in known] for v in cells]))
            continue
        col = np.empty(len(cells))
        for i, ((ln, _), v) in enumerate(zip(rows, cells)):
            ok = _number(v) and np.isfinite(float(v))
            if not ok:
                raise ConfigError(f"input file {p}: column {name!r} expected a finite number, "
                                  f"got {v!r} on line {ln}")
            col[i] = float(v)
        feats.append(col[:, None])
    return np.concatenate(feats, axis=1), how


def _read_inputs(path, arch):
    """Raw samples of ``path`` -> model inputs, with every training transform re-applied."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"input file {p} not found")
    inputs = (arch.get("data") or {}).get("inputs") or {}
    how = "as array"
    if p.suffix == ".npy":
        x = np.load(p, allow_pickle=False)
        if x.dtype.kind not in "biuf":
            raise ConfigError(f"input file {p}: expected a numeric array, got dtype {x.dtype}")
    elif p.suffix == ".csv":
        x, how = _csv_features(p, inputs)
    else:
        raise ConfigError(f"input file {p}: expected a .csv or .npy file, got {p.suffix!r}")
    x = np.asarray(x, dtype=B.get_default_dtype())
    if x.ndim == 1:
        x = x[None]
    if len(x) == 0 or not np.isfinite(x).all():
        raise ConfigError(f"input file {p}: expected finite values in at least one sample, got "
                          f"{len(x)} samples with NaN/inf or none")
    shape = tuple(arch["input_shape"])
    per = int(np.prod(shape))
    if x[0].size != per:
        raise ConfigError(f"input file {p}: each sample must have {per} values (shape {shape}), "
                          f"got {x.shape[1:]}")
    return _transform(arch, x.reshape(len(x), *shape)), how


def _transform(arch, x):
    """Training's input transforms, in order: pixel scale, dataset standardization, config's
    data.standardize / data.minmax."""
    inputs = (arch.get("data") or {}).get("inputs") or {}
    if "scale" in inputs:
        x = x * np.asarray(inputs["scale"], dtype=x.dtype)
    if "standardize" in inputs:
        x = _standardizer(inputs)(x)
    return _apply_scaler(arch, x)


def _standardizer(inputs):
    return D.Standardize().load_state_dict(inputs["standardize"])


def _apply_scaler(arch, x):
    sc = _scaler(arch.get("transforms", {}).get("x_scaler"))
    return sc(x) if sc is not None else x


def evaluate(run_dir, data_path=None) -> dict:
    """``lamina evaluate RUN``: metrics of the saved model on the run's test part (or on a
    labelled ``.csv``/``.npz`` given with ``--data``: features plus the config's target)."""
    model, cfg, arch = load_run(run_dir)
    if data_path is None:
        rd = prepare_data(cfg)
    else:
        p = Path(data_path)
        if p.suffix == ".npz":
            z = np.load(p, allow_pickle=False)
            x, y = z["x"], z["y"]
        elif p.suffix == ".csv":
            if "target" not in cfg["data"]:
                raise ConfigError("--data with a CSV needs the run's config to name data.target")
            ds = D.CSVDataset(str(p), target=cfg["data"]["target"],
                              categorical=cfg["data"].get("categorical", []))
            x, y = np.asarray(ds.X), np.asarray(ds.y)
            names = arch.get("class_names") or []
            if ds.classes is not None:  # string labels -> the run's class codes
                unknown = [c for c in ds.classes if c not in names]
                if unknown:
                    raise ConfigError(f"--data: labels {unknown} are not among the run's "
                                      f"classes {names}")
                y = np.array([names.index(ds.classes[int(i)]) for i in y])
        else:
            raise ConfigError(f"--data: expected a .csv or .npz (arrays x, y), got {p.suffix!r}")
        x = _transform(arch, np.asarray(x, B.get_default_dtype()).reshape(
            len(x), *arch["input_shape"]))
        ys = _scaler(arch.get("transforms", {}).get("y_scaler"))
        if arch["task"] != "classification":
            y = np.asarray(y, B.get_default_dtype()).reshape(len(y), -1)
        rd = RunData(None, None, None, None, x, y, arch["task"], arch["n_out"],
                     tuple(arch["input_shape"]), arch.get("class_names"), None, ys)
    res = _test_metrics(rd, _predict(model, rd.x_test))
    for line in _report(res, rd.task):
        print(line)
    return res


def predict(run_dir, input_path, output=None):
    """``lamina predict RUN input.csv|.npy [-o out.csv]``: one row per sample. ``RUN`` may
    also be a ``.onnx`` file written by ``lamina export``: it runs in ONNX Runtime, with the
    run's preprocessing read from the file's metadata."""
    if str(run_dir).endswith(".onnx"):
        arch = _onnx_arch(run_dir)
        x, how = _read_inputs(input_path, arch)
        from ..deploy import ort_predict
        out = np.asarray(ort_predict(str(run_dir), x), dtype=np.float64)
    else:
        model, cfg, arch = load_run(run_dir)
        x, how = _read_inputs(input_path, arch)
        out = _predict(model, x)
    if arch["task"] == "classification":
        prob = _softmax(out)
        names = arch.get("class_names") or list(range(arch["n_out"]))
        header = ["prediction"] + [f"prob_{n}" for n in names]
        rows = [[str(names[int(i)])] + [f"{p:.6f}" for p in pr]
                for i, pr in zip(prob.argmax(1), prob)]
    else:
        ys = _scaler(arch.get("transforms", {}).get("y_scaler"))
        pred = ys.inverse_transform(out) if ys is not None else out
        inputs = (arch.get("data") or {}).get("inputs") or {}
        if arch["task"] == "forecasting" and "standardize" in inputs:
            pred = _standardizer(inputs).inverse_transform(pred)  # back to the series' units
        header = [f"prediction_{i}" for i in range(pred.shape[1])]
        rows = [[f"{v:.6g}" for v in r] for r in pred]
    text = ",".join(header) + "\n" + "\n".join(",".join(r) for r in rows) + "\n"
    if output:
        io.atomic_write(output, text)
        print(f"wrote {len(rows)} predictions to {output} (columns matched {how})")
    else:
        print(text, end="")
    return rows


def _onnx_arch(path) -> dict:
    """The ``model.json`` that ``lamina export`` stores in an ONNX file's metadata."""
    if not Path(path).is_file():
        raise ConfigError(f"predict: {path} not found")
    from ..deploy.report import onnx_metadata
    meta = onnx_metadata(str(path))
    if "lamina.arch" not in meta:
        raise ConfigError(f"predict: {path} carries no lamina metadata (task, classes, "
                          "preprocessing); export it with `lamina export RUN_DIR -o FILE.onnx`")
    return json.loads(meta["lamina.arch"])


def _flops(module, inp, out) -> int:
    """Multiply-adds x 2 of one sample through a leaf module (0 for cheap elementwise ones)."""
    name = type(module).__name__
    o = out[0] if isinstance(out, tuple) else out
    per = int(np.prod(o.shape[1:])) if hasattr(o, "shape") else 0
    if name == "Linear":
        return 2 * module.in_features * module.out_features
    if name.startswith("Conv"):
        w = module.weight.shape
        return 2 * int(np.prod(w[1:])) * per
    if name in ("LSTM", "GRU", "RNN"):
        gates = {"LSTM": 4, "GRU": 3, "RNN": 1}[name]
        t = inp[0].shape[1]
        h = module.hidden_size
        return 2 * t * gates * h * (module.input_size + h)
    if name.startswith("BatchNorm") or name == "LayerNorm":
        return 2 * per
    return per


def flops_table(model, input_shape) -> tuple:
    """Rows (name, type, output shape, parameters, FLOPs per sample) of the leaf modules."""
    rows, hooks = [], []
    for name, m in model.named_modules():
        if name and not any(True for _ in m.children()) or type(m).__name__ in (
                "LSTM", "GRU", "RNN"):
            if not name:
                continue
            def hook(mod, inp, out, _n=name):
                o = out[0] if isinstance(out, tuple) else out
                nparam = sum(p.numel() for p in mod.parameters())
                rows.append((_n, type(mod).__name__, tuple(o.shape[1:]), nparam,
                             _flops(mod, inp, out)))
            hooks.append(m.register_forward_hook(hook))
    model.eval()
    with no_grad():
        model(zeros(1, *input_shape))
    for h in hooks:
        h.remove()
    return rows


def summary(config_path=None, sets=()):
    """``lamina summary CONFIG``: layer table, output shapes, parameters, FLOPs per sample."""
    from .config import apply_overrides
    cfg = validate(apply_overrides(load_config(config_path), list(sets)))
    rd = prepare_data(cfg)
    model = build_model(cfg["model"], rd.input_shape, rd.n_out)
    rows = flops_table(model, rd.input_shape)
    print(f"input shape {rd.input_shape}, {rd.n_out} outputs ({rd.task})")
    print(f"{'layer':<24}{'type':<20}{'output shape':<20}{'params':>10}{'FLOPs':>14}")
    for n, t, s, p, f in rows:
        print(f"{n:<24}{t:<20}{str(s):<20}{p:>10,}{f:>14,}")
    total = sum(p.numel() for p in model.parameters())
    print(f"total parameters {total:,}; FLOPs per sample {sum(r[4] for r in rows):,}")
    return rows


def datasets_table():
    """``lamina datasets``: every bundled dataset, its task, size and source package."""
    import importlib.util
    rows = datasets.list()
    print(f"{'name':<14}{'task':<16}{'samples':>8}  {'shape':<14}{'classes':>8}  "
          f"{'source':<13}needs")
    for r in rows:
        # scikit-learn is a core dependency; the other source packages come with lamina[data]
        r["extra"] = None if r["pip"] == "scikit-learn" else "data"
        need = "-"
        if r["extra"]:
            ok = importlib.util.find_spec(r["source"]) is not None
            need = "lamina[data]" + ("" if ok else f" (missing: pip install {r['pip']})")
        print(f"{r['name']:<14}{r['task']:<16}{r['n_samples']:>8}  {str(r['shape']):<14}"
              f"{str(r.get('n_classes') or '-'):>8}  {r['source']:<13}{need}")
    return rows
