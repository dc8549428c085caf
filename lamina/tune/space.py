"""The search space: a TOML table per config key, sampled through an Optuna trial.

Each table is named by the dotted config key it sets and gives a ``type``::

    [optim.lr]
    type = "float"
    low = 1e-4
    high = 0.1
    log = true

    [model.hidden]
    type = "categorical"
    choices = [[64], [128], [128, 64]]

    [data.batch_size]
    type = "int"
    low = 16
    high = 128
    step = 16

``float``/``int`` take ``low``, ``high`` and optionally ``log`` or ``step``; ``categorical`` takes
``choices`` (any TOML values, lists included). The grid sampler needs a ``grid = [...]`` list on
``float``/``int`` entries (categoricals are their own grid).
"""

from __future__ import annotations

import copy
import json
import tomllib

__all__ = ["load_space", "validate_space", "suggest", "grid_space", "apply_params"]

_TYPES = ("float", "int", "categorical")


def load_space(path) -> dict:
    """Read a SPACE.toml file into ``{dotted_key: spec}`` (validated).

    Args:
        path (str | PathLike): the TOML file.

    Returns:
        dict: dotted config key -> spec table.

    Raises:
        ValueError: unknown type, missing bounds, empty choices; OSError: unreadable file.
    """
    with open(path, "rb") as f:
        raw = tomllib.load(f)
    return validate_space(_flatten(raw))


def _flatten(raw: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in raw.items():
        key = f"{prefix}.{k}" if prefix else k
        if isinstance(v, dict) and "type" not in v:
            out.update(_flatten(v, key))
        else:
            out[key] = v
    return out


def validate_space(space: dict) -> dict:
    """Check every entry of a ``{dotted_key: spec}`` space; returns it unchanged.

    Args:
        space (dict): dotted config key -> ``{"type": ..., ...}``.

    Returns:
        dict: ``space``.
    """
    if not space:
        raise ValueError("tune space: expected at least one parameter table (e.g. [optim.lr] "
                         "with type = \"float\"), got none")
    for key, spec in space.items():
        if not isinstance(spec, dict) or spec.get("type") not in _TYPES:
            got = spec.get("type") if isinstance(spec, dict) else spec
            raise ValueError(f"tune space: expected {key}.type in {_TYPES}, got {got!r}")
        if spec["type"] == "categorical":
            if not spec.get("choices"):
                raise ValueError(f"tune space: expected a non-empty {key}.choices list, got "
                                 f"{spec.get('choices')!r}")
            continue
        for b in ("low", "high"):
            if b not in spec:
                raise ValueError(f"tune space: expected {key}.{b} for a {spec['type']} "
                                 "parameter, got none")
        if not spec["low"] < spec["high"]:
            raise ValueError(f"tune space: expected {key}.low < {key}.high, got "
                             f"{spec['low']} and {spec['high']}")
        if spec.get("log") and spec["low"] <= 0:
            raise ValueError(f"tune space: expected {key}.low > 0 with log = true, got "
                             f"{spec['low']}")
    return space


def _encode(choice) -> str | int | float | bool:
    # Optuna's categoricals hold scalars only: lists (layer widths) travel as JSON text
    return choice if isinstance(choice, (str, int, float, bool)) else json.dumps(choice)


def _decode(spec, value):
    for c in spec["choices"]:
        if _encode(c) == value:
            return copy.deepcopy(c)
    return value


def suggest(trial, space: dict) -> dict:
    """Draw every parameter through ``trial``.

    Args:
        trial (optuna.Trial): the running trial.
        space (dict): a validated space.

    Returns:
        dict: dotted key -> value (lists decoded back from their JSON form).
    """
    params = {}
    for key, s in space.items():
        if s["type"] == "categorical":
            v = trial.suggest_categorical(key, [_encode(c) for c in s["choices"]])
            params[key] = _decode(s, v)
        elif s["type"] == "float":
            params[key] = trial.suggest_float(key, float(s["low"]), float(s["high"]),
                                              log=bool(s.get("log", False)),
                                              step=s.get("step"))
        else:
            params[key] = trial.suggest_int(key, int(s["low"]), int(s["high"]),
                                            log=bool(s.get("log", False)),
                                            step=int(s.get("step", 1)))
    return params


def grid_space(space: dict) -> dict:
    """The ``search_space`` of Optuna's GridSampler: categoricals' choices, ``grid`` lists."""
    out = {}
    for key, s in space.items():
        if s["type"] == "categorical":
            out[key] = [_encode(c) for c in s["choices"]]
        elif "grid" in s:
            out[key] = list(s["grid"])
        else:
            raise ValueError(f"tune space: the grid sampler needs {key}.grid = [values] for a "
                             f"{s['type']} parameter, got none")
    return out


def apply_params(config: dict, params: dict) -> dict:
    """A copy of ``config`` with each dotted key of ``params`` set."""
    cfg = copy.deepcopy(config)
    for key, value in params.items():
        node = cfg
        parts = key.split(".")
        for p in parts[:-1]:
            node = node.setdefault(p, {})
        node[parts[-1]] = value
    return cfg
