"""Data for a run: bundled dataset or CSV, train/validation/test parts, fitted transforms."""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import backend as B
from .. import data as D
from .. import datasets
from .config import ConfigError

np = B.np

__all__ = ["RunData", "prepare_data", "augmentation"]


@dataclass
class RunData:
    """Arrays of the three parts plus what the model and the reports need."""

    x_train: object
    y_train: object
    x_val: object
    y_val: object
    x_test: object
    y_test: object
    task: str
    n_out: int
    input_shape: tuple
    class_names: list | None = None
    x_scaler: object = None   # fitted on the training part only
    y_scaler: object = None   # regression targets are standardized for training
    meta: dict = field(default_factory=dict)


def _load_csv(d: dict, seed: int):
    try:
        ds = D.CSVDataset(d["csv"], target=d["target"], categorical=d.get("categorical", []),
                          missing=d.get("missing", "error"))
    except KeyError as e:
        raise ConfigError(f"config: data.target: {e.args[0]}") from None
    except FileNotFoundError:
        raise ConfigError(f"config: data.csv file {d['csv']!r} not found") from None
    except ValueError as e:
        raise ConfigError(f"config: data.csv: {str(e).replace('missing=', 'data.missing=')}"
                          ) from None
    X, y = np.asarray(ds.X), np.asarray(ds.y)
    task = d.get("task") or ("classification" if y.dtype.kind in "iu" else "regression")
    strat = task == "classification"
    x_tr, x_te, y_tr, y_te = D.train_test_split(X, y, test_size=d["test_size"], stratify=strat,
                                                seed=seed)
    classes = sorted(set(np.asarray(y).tolist())) if strat else None
    n = len(classes) if classes else None
    if strat and ds.classes is not None:  # string labels: keep their names, codes are 0..n-1
        classes = list(ds.classes)
    inputs = {"columns": [c for c in ds.columns if c != ds.target_name],
              "categories": ds.categories, "header": True}
    return x_tr, y_tr, x_te, y_te, task, n, classes, inputs


def _dataset_inputs(split) -> dict:
    """What ``predict`` must redo to raw inputs of a bundled dataset (see docs/cli.md)."""
    inputs = {"columns": split.feature_names if split.task != "forecasting" else None,
              "categories": {}, "header": split.feature_names is not None}
    if len(split.input_shape) == 3:  # images: pixels were divided by their maximum
        inputs["scale"] = 1.0 / (16.0 if split.name == "digits" else 255.0)
        inputs["columns"], inputs["header"] = None, False
    if split.scaler is not None:
        inputs["standardize"] = split.scaler.state_dict()
    return inputs


def prepare_data(cfg: dict) -> RunData:
    """Load and split the data described by ``cfg['data']`` (deterministic given the seed)."""
    d, seed = cfg["data"], cfg["train"]["seed"]
    if "dataset" in d:
        try:
            split = datasets.load(d["dataset"], test_size=d.get("test_size", 0.2), seed=seed,
                                  window=d.get("window"), horizon=d.get("horizon", 1))
        except ValueError as e:
            raise ConfigError(f"config: data.dataset: {e}") from None
        x_tr, y_tr, x_te, y_te = split.x_train, split.y_train, split.x_test, split.y_test
        task, n_classes, names = split.task, split.n_classes, split.class_names
        meta = {"dataset": split.name, "description": split.description,
                "inputs": _dataset_inputs(split)}
    else:
        x_tr, y_tr, x_te, y_te, task, n_classes, names, inputs = _load_csv(d, seed)
        meta = {"csv": d["csv"], "target": d["target"], "inputs": inputs}
    x_va = y_va = None
    if d.get("val_size", 0) > 0:
        strat = task == "classification"
        x_tr, x_va, y_tr, y_va = D.train_test_split(x_tr, y_tr, test_size=d["val_size"],
                                                    stratify=strat, seed=seed + 1,
                                                    shuffle=task != "forecasting")
    x_scaler = None
    if d.get("standardize"):
        x_scaler = D.Standardize().fit(x_tr)
    elif d.get("minmax"):
        x_scaler = D.MinMaxScale().fit(x_tr)
    if x_scaler is not None:
        x_tr, x_te = x_scaler(x_tr), x_scaler(x_te)
        x_va = x_scaler(x_va) if x_va is not None else None
    y_scaler = None
    if task != "classification":
        y_tr = np.asarray(y_tr, dtype=B.get_default_dtype()).reshape(len(y_tr), -1)
        y_te = np.asarray(y_te, dtype=B.get_default_dtype()).reshape(len(y_te), -1)
        y_va = None if y_va is None else np.asarray(y_va, B.get_default_dtype()).reshape(
            len(y_va), -1)
        y_scaler = D.Standardize().fit(y_tr)
        y_tr = y_scaler(y_tr)
        y_va = y_scaler(y_va) if y_va is not None else None
    n_out = n_classes if task == "classification" else int(np.asarray(y_tr).shape[1])
    return RunData(x_tr, y_tr, x_va, y_va, x_te, y_te, task, n_out, tuple(x_tr.shape[1:]),
                   names, x_scaler, y_scaler, meta)


def augmentation(names: list, input_shape: tuple):
    """The per-batch augmentation pipeline named in ``data.augment`` (images only)."""
    if not names:
        return None
    if len(input_shape) < 2:
        raise ConfigError(f"config: data.augment needs image inputs (C, H, W); this data has "
                          f"samples of shape {input_shape}")
    ops = {"shift": lambda: D.RandomShift(1), "flip": lambda: D.RandomFlip(),
           "rotate": lambda: D.RandomRotation(10), "noise": lambda: D.GaussianNoise(0.05)}
    return D.Compose([ops[n]() for n in names])
