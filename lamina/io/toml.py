"""Configs as TOML text: the writer ``lamina train --print-config``, run directories and
``lamina tune``'s best config share (the standard library reads TOML but cannot write it)."""

from __future__ import annotations

__all__ = ["dumps_toml"]


def _fmt(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_fmt(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {_fmt(x)}" for k, x in v.items()) + "}"
    return str(v)


def dumps_toml(cfg: dict) -> str:
    """Serialise a config (scalars, lists, one level of tables, arrays of tables) as TOML."""
    lines = [f"{k} = {_fmt(v)}" for k, v in cfg.items() if not isinstance(v, dict)]
    for sec, body in cfg.items():
        if not isinstance(body, dict):
            continue
        lines.append(f"\n[{sec}]")
        tables = {k: v for k, v in body.items()
                  if isinstance(v, list) and v and all(isinstance(x, dict) for x in v)}
        for k, v in body.items():
            if k not in tables:
                lines.append(f"{k} = {_fmt(v)}")
        for k, rows in tables.items():
            for row in rows:
                lines.append(f"\n[[{sec}.{k}]]")
                lines.extend(f"{rk} = {_fmt(rv)}" for rk, rv in row.items())
    return "\n".join(lines) + "\n"
