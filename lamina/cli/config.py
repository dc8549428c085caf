"""The run configuration: TOML schema, defaults, ``--set`` overrides and validation.

Everything is checked before anything runs: an unknown key, a wrong type or an impossible value
raises :class:`ConfigError` naming the key and what would be valid; the CLI turns it into exit
code 2 with no traceback.
"""

from __future__ import annotations

import copy
import difflib
import tomllib

from ..io.toml import _fmt, dumps_toml  # noqa: F401  (_fmt: the reference renders values)

__all__ = ["ConfigError", "DEFAULT", "SCHEMA", "load_config", "apply_overrides", "validate",
           "dumps_toml"]


class ConfigError(ValueError):
    """A configuration problem; the message names the key and the fix."""


# The default run: a small CNN on scikit-learn's digits (README's first command).
DEFAULT = {
    "name": "digits-cnn",
    "data": {"dataset": "digits", "test_size": 0.2, "val_size": 0.1, "batch_size": 32,
             "standardize": False, "augment": []},
    "model": {"name": "small_cnn"},
    "optim": {"name": "adam", "lr": 2e-3, "weight_decay": 0.0},
    "schedule": {"name": "onecycle"},
    "train": {"epochs": 20, "seed": 0, "early_stopping": 0, "tensorboard": False,
              "out_dir": "runs", "grad_clip": 0.0, "compile": False},
}

_NUM = (int, float)
# section -> key -> accepted python types; "layers" entries are checked by the model builder
SCHEMA = {
    "": {"name": str, "data": dict, "model": dict, "optim": dict, "schedule": dict,
         "train": dict, "distributed": dict},
    "data": {"dataset": str, "csv": str, "target": str, "task": str, "test_size": _NUM,
             "val_size": _NUM, "batch_size": int, "standardize": bool, "minmax": bool,
             "augment": list, "window": int, "horizon": int, "categorical": list,
             "missing": str},
    "model": {"name": str, "layers": list, "hidden": list, "activation": str,
              "dropout": _NUM, "batch_norm": bool, "channels": list, "hidden_size": int,
              "num_layers": int, "bidirectional": bool, "depth": int, "width": int},
    "optim": {"name": str, "lr": _NUM, "weight_decay": _NUM, "momentum": _NUM,
              "nesterov": bool, "betas": list, "eps": _NUM, "amsgrad": bool, "alpha": _NUM},
    "schedule": {"name": str, "step_size": int, "gamma": _NUM, "milestones": list,
                 "t_max": int, "eta_min": _NUM, "warmup_epochs": int, "max_lr": _NUM,
                 "patience": int, "factor": _NUM},
    "train": {"epochs": int, "seed": int, "early_stopping": int, "tensorboard": bool,
              "out_dir": str, "grad_clip": _NUM, "compile": bool},
}
# [distributed]: data-parallel `lamina train` (values checked in cli/cmd_distributed.py)
SCHEMA["distributed"] = {"backend": str, "bucket_mb": _NUM, "mode": str, "lr_scaling": str,
                         "warmup_epochs": int, "timeout": _NUM, "pipeline_stages": int,
                         "nproc": int}
# [adversarial]: adversarial training in `lamina train` (lamina.robust.adversarial_training)
SCHEMA["adversarial"] = {"method": str, "eps": _NUM, "steps": int, "alpha": _NUM, "beta": _NUM}
SCHEMA[""]["adversarial"] = dict
ADVERSARIAL_METHODS = ("pgd", "fast", "trades")


def _check_adversarial(a) -> None:
    if a is None:
        return
    if a.get("method", "pgd") not in ADVERSARIAL_METHODS:
        raise ConfigError(f"config: adversarial.method {a['method']!r} is not one of "
                          f"{ADVERSARIAL_METHODS}")
    if not a.get("eps", 0.1) > 0 or a.get("steps", 10) < 1:
        raise ConfigError(f"config: [adversarial] needs eps > 0 and steps >= 1, got "
                          f"eps={a.get('eps')}, steps={a.get('steps')}")


# [fairness] / [privacy]: audited and DP-SGD `lamina train` runs (values checked in
# cli/cmd_fairness.py)
SCHEMA["fairness"] = {"sensitive": str, "mitigation": str, "strength": _NUM,
                      "constraint": str, "intended_use": str}
SCHEMA["privacy"] = {"epsilon": _NUM, "delta": _NUM, "max_grad_norm": _NUM,
                     "noise_multiplier": _NUM, "accountant": str}
SCHEMA[""].update(fairness=dict, privacy=dict)
OPTIMIZERS = ("sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta", "nadam")
SCHEDULES = ("none", "step", "multistep", "exponential", "cosine", "onecycle", "plateau",
             "warmup_cosine")
AUGMENTS = ("shift", "flip", "rotate", "noise")
TASKS = ("classification", "regression")


def _suggest(key, valid) -> str:
    close = difflib.get_close_matches(key, list(valid), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"{hint}; valid keys: {', '.join(sorted(valid))}"


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def load_config(path: str | None) -> dict:
    """Read a TOML file (or nothing) on top of :data:`DEFAULT`.

    A config that defines ``[model]`` replaces the default model section whole (so a list of
    layers does not inherit the default model name); other sections merge key by key.
    """
    if path is None:
        return copy.deepcopy(DEFAULT)
    try:
        with open(path, "rb") as f:
            user = tomllib.load(f)
    except FileNotFoundError:
        raise ConfigError(f"config: file {path!r} not found") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"config: {path} is not valid TOML: {e}") from None
    base = copy.deepcopy(DEFAULT)
    if "model" in user:
        base["model"] = {}
    if "data" in user and ("csv" in user["data"] or user["data"].get("dataset") not in
                           (None, "digits")):
        base["data"].pop("dataset", None)
    if "schedule" in user:
        base["schedule"] = {}
    cfg = _merge(base, user)
    _tabular_default_model(cfg)
    return cfg


def _parse_value(text: str):
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text  # a bare word is a string: --set model.name=mlp


def apply_overrides(cfg: dict, sets: list[str]) -> dict:
    """Apply ``--set section.key=value`` overrides (values parsed as TOML literals)."""
    cfg = copy.deepcopy(cfg)
    for item in sets or []:
        if "=" not in item:
            raise ConfigError(f"--set: expected KEY=VALUE (e.g. optim.lr=0.01), got {item!r}")
        key, _, text = item.partition("=")
        parts = key.strip().split(".")
        node = cfg
        for p in parts[:-1]:
            if p not in node or not isinstance(node[p], dict):
                node[p] = {}
            node = node[p]
        node[parts[-1]] = _parse_value(text.strip())
        if parts[:1] == ["data"] and len(parts) == 2 and parts[1] in ("csv", "dataset"):
            # an explicit data source replaces the other one (--set data.csv=... on the
            # default digits config trains on the CSV)
            cfg["data"].pop("dataset" if parts[1] == "csv" else "csv", None)
            _tabular_default_model(cfg)
    return cfg


def _tabular_default_model(cfg: dict) -> None:
    """A CSV run still on the default model (a CNN for images) gets the MLP instead."""
    if "csv" in cfg.get("data", {}) and cfg.get("model") == DEFAULT["model"]:
        cfg["model"] = {"name": "mlp"}


def _check_type(where: str, value, typ) -> None:
    ok = isinstance(value, typ) and not (typ in (int, _NUM) and isinstance(value, bool))
    if typ is _NUM and isinstance(value, bool):
        ok = False
    if not ok:
        want = "number" if typ is _NUM else typ.__name__
        raise ConfigError(f"config: {where} must be a {want}, got {value!r} "
                          f"({type(value).__name__})")


def validate(cfg: dict) -> dict:
    """Check keys, types and values; returns the config unchanged or raises ConfigError."""
    for key, value in cfg.items():
        if key not in SCHEMA[""]:
            raise ConfigError(f"config: unknown top-level key {key!r}" + _suggest(key, SCHEMA[""]))
        _check_type(key, value, SCHEMA[""][key])
    for section in [k for k in SCHEMA if k and k in cfg]:
        for key, value in cfg.get(section, {}).items():
            valid = SCHEMA[section]
            if key not in valid:
                raise ConfigError(f"config: unknown key {section}.{key}" + _suggest(key, valid))
            _check_type(f"{section}.{key}", value, valid[key])
    d, t, o, s = cfg["data"], cfg["train"], cfg["optim"], cfg.get("schedule", {})
    if ("dataset" in d) == ("csv" in d):
        raise ConfigError("config: [data] needs exactly one of dataset = NAME or csv = PATH "
                          "(see `lamina datasets` for names)")
    if "csv" in d and "target" not in d:
        raise ConfigError("config: data.csv needs data.target = COLUMN (the label column)")
    if "task" in d and d["task"] not in TASKS:
        raise ConfigError(f"config: data.task {d['task']!r} is not one of {TASKS} (default: "
                          "classification for integer or text labels, else regression)")
    for k in ("test_size", "val_size"):
        if k in d and not 0 <= d[k] < 1:
            raise ConfigError(f"config: data.{k} must be in [0, 1), got {d[k]}")
    if d.get("batch_size", 1) < 1:
        raise ConfigError(f"config: data.batch_size must be >= 1, got {d['batch_size']}")
    for a in d.get("augment", []):
        if a not in AUGMENTS:
            raise ConfigError(f"config: data.augment entry {a!r} is not one of {AUGMENTS}")
    if t.get("epochs", 1) < 1:
        raise ConfigError(f"config: train.epochs must be >= 1, got {t['epochs']}")
    if o.get("name", "adam") not in OPTIMIZERS:
        raise ConfigError(f"config: optim.name {o['name']!r} is not one of {OPTIMIZERS}")
    if o.get("lr", 1e-3) <= 0:
        raise ConfigError(f"config: optim.lr must be > 0, got {o['lr']}")
    if s.get("name", "none") not in SCHEDULES:
        raise ConfigError(f"config: schedule.name {s['name']!r} is not one of {SCHEDULES}")
    m = cfg["model"]
    if ("name" in m) == ("layers" in m):
        raise ConfigError("config: [model] needs exactly one of name = MODEL or a list of "
                          "[[model.layers]] tables")
    for i, layer in enumerate(m.get("layers", [])):
        if not isinstance(layer, dict) or "type" not in layer:
            raise ConfigError(f"config: model.layers[{i}] must be a table with a type = ... key")
    _check_adversarial(cfg.get("adversarial"))
    return cfg
