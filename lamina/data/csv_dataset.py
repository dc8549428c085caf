"""``CSVDataset``: a CSV file as an :class:`ArrayDataset` (numeric and categorical columns,
explicit handling of missing values).
"""

from __future__ import annotations

import csv
from pathlib import Path

from .. import backend as B
from ..errors import check, op_error
from .dataset import ArrayDataset

__all__ = ["CSVDataset", "MISSING_TOKENS"]

np = B.np

#: cell values (compared after strip + lower) that count as missing
MISSING_TOKENS = frozenset({"", "na", "nan", "n/a", "null", "none", "?"})


def _lines(numbers) -> str:
    shown = ", ".join(str(n) for n in numbers[:5])
    return f"line{'s' if len(numbers) > 1 else ''} {shown}{', ...' if len(numbers) > 5 else ''}"


def _parse_float(values, name: str, lines, path) -> "np.ndarray":
    out = np.empty(len(values), dtype=np.float64)
    for i, v in enumerate(values):
        try:
            out[i] = float(v)
        except ValueError:
            raise op_error(f"CSVDataset({path})", f"numbers in column {name!r}",
                           f"{v!r} on line {lines[i]}",
                           f"list the column in categorical=[{name!r}] to one-hot encode it",
                           cls=ValueError) from None
    return out


class CSVDataset(ArrayDataset):
    """Rows of a CSV file: feature columns -> ``X`` (float32), one target column -> ``y``.

    Numeric feature columns are parsed as floats; columns named in ``categorical`` are one-hot
    encoded (``feature_names`` gets ``"color=red"``-style names). The target becomes int64 class
    codes when it is categorical or non-numeric (``classes`` lists the names), int64 when all its
    values are whole numbers, float32 otherwise (override with ``target_dtype``).

    Missing cells (empty, NA, NaN, N/A, null, None, ?) are an error by default, which names each
    column, how many rows and which lines; ``missing='mean'`` fills feature columns with the
    column mean (most frequent value for categorical ones), ``missing='drop'`` drops those rows.
    The fill statistics come from the whole file: to avoid test-set leakage, prefer 'drop' or
    fill after splitting.

    Args:
        path (str or Path): the CSV file.
        target (str, int or None): target column name or index; None = no labels. Default -1
            (the last column).
        header (bool): the first row holds column names (else ``col0, col1, ...``). Default True.
        categorical (list): names (or indices) of categorical columns. Default none.
        missing (str): 'error', 'mean' or 'drop'. Default 'error'.
        delimiter (str): field separator. Default ','.
        target_dtype: force the label dtype (e.g. 'float32' for integer-valued regression).
        transform: callable applied to feature batches (see ArrayDataset). Default None.

    Example:
        >>> ds = CSVDataset("titanic.csv", target="survived", categorical=["sex"],
        ...                 missing="drop")
    """

    def __init__(self, path, target=-1, header=True, categorical=(), missing="error",
                 delimiter=",", target_dtype=None, transform=None):
        check(missing in ("error", "mean", "drop"), "CSVDataset",
              "missing='error', 'mean' or 'drop'", repr(missing))
        self.path = Path(path)
        names, rows, lines = self._read(delimiter, header)
        self.columns = names
        cols = {k: [r[k] for r in rows] for k in range(len(names))}
        t = self._column_index(target, names) if target is not None else None
        cat = {self._column_index(c, names) for c in categorical}
        miss = {k: np.array([v.strip().lower() in MISSING_TOKENS for v in col], dtype=bool)
                for k, col in cols.items()}
        keep = self._handle_missing(miss, names, lines, missing, t)
        lines = [ln for ln, kp in zip(lines, keep) if kp]
        feats, self.feature_names, self.categories = [], [], {}
        for k in range(len(names)):
            if k == t:
                continue
            values = [v.strip() for v, kp in zip(cols[k], keep) if kp]
            m = miss[k][keep]
            if k in cat:
                present = sorted({v for v, mm in zip(values, m) if not mm})
                if m.any():  # fill with the most frequent value
                    counts = {c: 0 for c in present}
                    for v, mm in zip(values, m):
                        counts[v] += 0 if mm else 1
                    mode = max(present, key=lambda c: counts[c])
                    values = [mode if mm else v for v, mm in zip(values, m)]
                self.categories[names[k]] = present
                code = {c: i for i, c in enumerate(present)}
                codes = np.array([code[v] for v in values], dtype=np.int64)
                feats.append(np.eye(len(present))[codes])
                self.feature_names += [f"{names[k]}={c}" for c in present]
            else:
                col = _parse_float([("nan" if mm else v) for v, mm in zip(values, m)],
                                   names[k], lines, self.path.name)
                if m.any():
                    col[m] = col[~m].mean() if (~m).any() else 0.0
                feats.append(col[:, None])
                self.feature_names.append(names[k])
        X = np.concatenate(feats, axis=1) if feats else np.zeros((len(lines), 0))
        self.target_name = None if t is None else names[t]
        self.classes = None
        y = None
        if t is not None:
            y = self._target([v.strip() for v, kp in zip(cols[t], keep) if kp], t in cat,
                             target_dtype, lines)
        super().__init__(X, y, transform=transform)

    def _read(self, delimiter, header):
        with open(self.path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f, delimiter=delimiter)
            rows, lines = [], []
            for row in reader:
                if not row or all(not c.strip() for c in row):
                    continue
                rows.append(row)
                lines.append(reader.line_num)
        check(len(rows) > int(bool(header)), f"CSVDataset({self.path.name})",
              "at least one data row", "an empty file")
        if header:
            names, rows, lines = [c.strip() for c in rows[0]], rows[1:], lines[1:]
        else:
            names = [f"col{i}" for i in range(len(rows[0]))]
        for r, ln in zip(rows, lines):
            if len(r) != len(names):
                raise op_error(f"CSVDataset({self.path.name})", f"{len(names)} fields per row",
                               f"{len(r)} on line {ln}", "check the delimiter and quoting",
                               cls=ValueError)
        return names, rows, lines

    @staticmethod
    def _column_index(col, names) -> int:
        if isinstance(col, str):
            if col not in names:
                raise KeyError(f"CSVDataset: expected a column name among {names}, got {col!r}")
            return names.index(col)
        check(-len(names) <= col < len(names), "CSVDataset",
              f"a column index in [-{len(names)}, {len(names)})", str(col), cls=IndexError)
        return int(col) % len(names)

    def _handle_missing(self, miss, names, lines, missing, t):
        bad = {k: m for k, m in miss.items() if m.any()}
        n = len(lines)
        if not bad:
            return np.ones(n, dtype=bool)
        report = "; ".join(
            f"column {names[k]!r}: {int(m.sum())} row{'s' if m.sum() > 1 else ''} "
            f"({_lines([lines[i] for i in np.flatnonzero(m)])})" for k, m in bad.items())
        if missing == "error":
            raise ValueError(
                f"CSVDataset({self.path.name}): missing values in {len(bad)} column"
                f"{'s' if len(bad) > 1 else ''}: {report}. Pass missing='mean' to fill feature "
                "columns with the column mean (most frequent value for categorical columns) or "
                "missing='drop' to drop those rows")
        if missing == "mean" and t in bad:
            where = _lines([lines[i] for i in np.flatnonzero(bad[t])])
            raise ValueError(
                f"CSVDataset({self.path.name}): the target column {names[t]!r} has "
                f"{int(bad[t].sum())} missing values ({where}); labels cannot be filled with a "
                "mean: use missing='drop'")
        if missing == "drop":
            keep = ~np.any(np.stack(list(bad.values())), axis=0)
            check(keep.any(), f"CSVDataset({self.path.name})", "some rows without missing "
                  "values after missing='drop'", "none left", "use missing='mean'")
            return keep
        return np.ones(n, dtype=bool)

    def _target(self, values, categorical, target_dtype, lines):
        numeric = not categorical
        if numeric:
            try:
                y = np.array([float(v) for v in values])
            except ValueError:
                numeric = False
        if not numeric:
            self.classes = sorted(set(values))
            code = {c: i for i, c in enumerate(self.classes)}
            y = np.array([code[v] for v in values], dtype=np.int64)
        elif target_dtype is None and bool(np.all(y == np.round(y))):
            y = y.astype(np.int64)
        if target_dtype is not None:
            y = y.astype(target_dtype)
        return y
