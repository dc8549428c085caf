"""Honest evaluation: robust accuracy, and a report that runs an attack ladder per epsilon and
warns about the classic signs of gradient masking (Carlini et al. 2019, "On evaluating
adversarial robustness"; Athalye et al. 2018) instead of reporting them as robustness."""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import backend as B
from ..errors import check
from ._util import as_array, ce_loss, frozen, input_grad, logits_of
from .attacks import APGD, FGSM, PGD, Square

np = B.np

__all__ = ["robust_accuracy", "robustness_report", "RobustnessReport", "default_ladder"]


def _batches(data, batch_size):
    if isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = as_array(data[0]), as_array(data[1])
        for i in range(0, len(x), batch_size):
            yield x[i:i + batch_size], y[i:i + batch_size]
        return
    for xb, yb in data:  # a DataLoader of (x, y)
        yield as_array(xb), as_array(yb)


def _correct(model, attack, x, y):
    adv = x if attack is None else as_array(attack(x, y))
    with frozen(model):
        pred = B.to_host(logits_of(model, adv)).argmax(axis=1)
    return pred == B.to_host(y)


def robust_accuracy(model, attack, data, batch_size: int = 256) -> float:
    """Accuracy of ``model`` on ``attack``'s examples (``attack=None``: clean accuracy).

    Args:
        model (Module): the evaluated classifier (a transfer attack may be built on another).
        attack (callable or None): ``attack(x, y) -> x_adv``, e.g. ``PGD(model, eps=0.1)``.
        data: ``(x, y)`` arrays/Tensors, or an iterable of ``(x, y)`` batches (a DataLoader).
        batch_size (int): batch for ``(x, y)`` data. Default 256.

    Returns:
        float: fraction of samples still classified correctly.
    """
    hits = [_correct(model, attack, x, y) for x, y in _batches(data, batch_size)]
    return float(np.concatenate(hits).mean()) if hits else float("nan")


def default_ladder(model, eps, n_classes, square_queries=300, clip_min=0.0, clip_max=1.0,
                   steps=20):
    """The report's attacks at one ``eps``: ``[(name, attack, kind)]``, kind ``'single'``,
    ``'iterative'`` or ``'blackbox'`` (FGSM -> PGD-20 -> PGD-20 x3 restarts -> APGD-CE ->
    APGD-DLR -> Square)."""
    kw = dict(clip_min=clip_min, clip_max=clip_max)
    ladder = [("FGSM", FGSM(model, eps=eps, **kw), "single"),
              (f"PGD-{steps}", PGD(model, eps=eps, alpha=2.5 * eps / steps, steps=steps, **kw),
               "iterative"),
              (f"PGD-{steps}x3", PGD(model, eps=eps, alpha=2.5 * eps / steps, steps=steps,
                                    restarts=3, **kw), "iterative"),
              ("APGD-CE", APGD(model, eps=eps, steps=steps, **kw), "iterative")]
    if n_classes >= 3:
        ladder.append(("APGD-DLR", APGD(model, eps=eps, steps=steps, loss="dlr", **kw),
                       "iterative"))
    if square_queries:
        ladder.append(("Square", Square(model, eps=eps, n_queries=square_queries, **kw),
                       "blackbox"))
    return ladder


@dataclass
class RobustnessReport:
    """What :func:`robustness_report` found.

    Attributes:
        eps (list): the budgets, ascending.
        clean (float): clean accuracy.
        rows (list of dict): per eps: ``eps``, one accuracy per attack, ``worst`` (samples
            that survive every attack).
        warnings (list of str): gradient-masking signs; empty when none were seen.
        zero_grad_fraction (float): inputs whose loss gradient is exactly zero.
    """

    eps: list
    clean: float
    rows: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    zero_grad_fraction: float = 0.0
    sanity: dict = field(default_factory=dict)

    @property
    def worst(self):
        """Worst-case accuracy per eps."""
        return [r["worst"] for r in self.rows]

    def table(self) -> str:
        """A Markdown table: one row per eps, one column per attack, then ``worst``."""
        names = [k for k in self.rows[0] if k != "eps"] if self.rows else []
        lines = ["| eps | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
        for r in self.rows:
            lines.append(f"| {r['eps']:g} | " + " | ".join(f"{r[k]:.3f}" for k in names) + " |")
        return "\n".join(lines)

    def __str__(self) -> str:
        out = [f"clean accuracy {self.clean:.3f}", self.table()]
        out += [f"WARNING: {w}" for w in self.warnings] or ["no sign of gradient masking seen"]
        return "\n".join(out)

    def to_dict(self) -> dict:
        """JSON-ready dict."""
        return {"eps": self.eps, "clean": self.clean, "rows": self.rows,
                "warnings": self.warnings, "zero_grad_fraction": self.zero_grad_fraction,
                "sanity": self.sanity}


def _zero_grad_fraction(model, x, y):
    with frozen(model):
        g, _, _ = input_grad(model, x, ce_loss(y))
    g = B.to_host(g).reshape(len(x), -1)
    return float((np.abs(g).max(axis=1) == 0).mean())


def robustness_report(model, data, eps_list, ladder=None, batch_size: int = 256,
                      square_queries: int = 300, steps: int = 20, tol: float = 0.02,
                      clip_min: float = 0.0, clip_max: float = 1.0, sanity: bool = True):
    """Run an attack ladder at every eps and flag gradient masking.

    Args:
        model (Module): the classifier.
        data: ``(x, y)`` arrays or Tensors (subsample beforehand for speed).
        eps_list (sequence of float): L-inf budgets.
        ladder (callable, optional): ``ladder(model, eps, n_classes) -> [(name, attack,
            kind)]``; default :func:`default_ladder`.
        batch_size (int): attack batch. Default 256.
        square_queries (int): Square's query budget (0 skips it). Default 300.
        steps (int): PGD/APGD steps. Default 20.
        tol (float): accuracy slack before a warning. Default 0.02.
        clip_min, clip_max (float): valid input range. Default 0, 1.
        sanity (bool): also run PGD-50 at eps = the whole range, where any sound model must
            fall to ~0. Default True.

    Returns:
        RobustnessReport: ``str(report)`` prints the table and the warnings.

    Example:
        >>> print(robustness_report(model, (x_test[:500], y_test[:500]), [0.1, 0.2, 0.3]))
    """
    eps_list = sorted(float(e) for e in eps_list)
    check(len(eps_list) > 0 and eps_list[0] >= 0, "robustness_report",
          "a non-empty list of eps >= 0", f"{eps_list}")
    x, y = as_array(data[0]), as_array(data[1]).astype(np.int64)
    n_classes = B.to_host(logits_of(model, x[:2])).shape[1]
    build = ladder or (lambda m, e, c: default_ladder(m, e, c, square_queries, clip_min,
                                                      clip_max, steps))
    clean_ok = np.concatenate([_correct(model, None, xb, yb)
                               for xb, yb in _batches((x, y), batch_size)])
    rep = RobustnessReport(eps=eps_list, clean=float(clean_ok.mean()))
    rep.zero_grad_fraction = _zero_grad_fraction(model, x[:batch_size], y[:batch_size])
    kinds = {}
    for eps in eps_list:
        row, worst = {"eps": eps}, clean_ok.copy()
        for name, atk, kind in build(model, eps, n_classes):
            ok = np.concatenate([_correct(model, atk, xb, yb)
                                 for xb, yb in _batches((x, y), batch_size)])
            row[name], kinds[name] = float(ok.mean()), kind
            worst &= ok
        row["worst"] = float(worst.mean())
        rep.rows.append(row)
    if sanity:
        span = clip_max - clip_min
        atk = PGD(model, eps=span, alpha=span / 20, steps=50, clip_min=clip_min,
                  clip_max=clip_max)
        rep.sanity = {"eps": span, "PGD-50": robust_accuracy(model, atk, (x, y), batch_size)}
    rep.warnings = _masking_warnings(rep, kinds, tol, n_classes)
    return rep


def _masking_warnings(rep, kinds, tol, n_classes):
    out = []
    for r in rep.rows:
        single = [r[k] for k, v in kinds.items() if v == "single" and k in r]
        iters = [r[k] for k, v in kinds.items() if v == "iterative" and k in r]
        black = [r[k] for k, v in kinds.items() if v == "blackbox" and k in r]
        if single and iters and min(iters) > min(single) + tol:
            out.append(f"eps={r['eps']:g}: iterative attacks ({min(iters):.3f}) are weaker "
                       f"than single-step FGSM ({min(single):.3f}); gradients are unreliable")
        if black and (single or iters) and min(black) < min(single + iters) - tol:
            out.append(f"eps={r['eps']:g}: the black-box attack ({min(black):.3f}) beats "
                       f"every white-box attack ({min(single + iters):.3f}); gradients are "
                       "masked, the white-box numbers overstate robustness")
    worst = rep.worst
    for a, b, e in zip(worst, worst[1:], rep.eps[1:]):
        if b > a + tol:
            out.append(f"accuracy is not monotone in eps (rises to {b:.3f} at eps={e:g}); "
                       "the attacks are not converging")
    chance = 1.0 / n_classes
    if rep.sanity and rep.sanity["PGD-50"] > max(0.1, chance + tol):
        out.append(f"PGD-50 at eps={rep.sanity['eps']:g} (the whole input range) leaves "
                   f"{rep.sanity['PGD-50']:.3f} accuracy instead of ~0: gradients do not lead "
                   "to adversarial inputs (masking or a non-differentiable step)")
    if rep.zero_grad_fraction > 0.5:
        out.append(f"the loss gradient is exactly zero for {rep.zero_grad_fraction:.0%} of "
                   "inputs (saturated softmax or quantized inputs); use an adaptive attack "
                   "(margin loss, TemperatureScaled, BPDA/EOT)")
    return out


