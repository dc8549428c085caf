"""``[fairness] mitigation`` in ``lamina train``: reweighing or a fairness penalty.

``mitigation = "reweighing"`` trains with Kamiran & Calders' loss weights
(:func:`lamina.fairness.reweighing`); ``mitigation = "penalty"`` adds ``strength *``
:func:`lamina.fairness.fairness_penalty` (``constraint = "demographic_parity"`` or
``"equalized_odds"``) to the cross-entropy; ``mitigation = "adversarial"`` trains the model
against an adversary through gradient reversal (:class:`lamina.fairness.AdversarialDebiasing`,
reversal factor ``strength``; the adversary joins the optimizer as a second parameter group,
which a learning-rate schedule leaves at the base rate). All need ``sensitive``: a dataset's
protected attribute (HMDA's ``afam``) or a feature column with at most 20 values, and a binary
classification run; the training loader then carries ``(y, group[, weight])`` targets
(:func:`lamina.fairness.pack_targets`) and the step is :func:`lamina.fairness.fair_step`.
"""

from __future__ import annotations

from .. import backend as B
from .config import ConfigError

__all__ = ["MITIGATIONS", "CONSTRAINTS", "check_mitigation", "mitigate", "train_sensitive"]

np = B.np
MITIGATIONS = ("none", "reweighing", "penalty", "adversarial")
CONSTRAINTS = ("demographic_parity", "equalized_odds")


def check_mitigation(cfg) -> None:
    """Values of ``[fairness] mitigation, strength, constraint`` (types: the schema)."""
    f = cfg.get("fairness") or {}
    mit = f.get("mitigation", "none")
    if mit not in MITIGATIONS:
        raise ConfigError(f"config: fairness.mitigation {mit!r} is not one of {MITIGATIONS}")
    if f.get("constraint", "demographic_parity") not in CONSTRAINTS:
        raise ConfigError(f"config: fairness.constraint {f['constraint']!r} is not one of "
                          f"{CONSTRAINTS}")
    if f.get("strength", 1.0) < 0:
        raise ConfigError(f"config: fairness.strength must be >= 0, got {f['strength']}")
    if mit == "none":
        return
    if not f.get("sensitive"):
        raise ConfigError(f"config: fairness.mitigation = {mit!r} needs fairness.sensitive "
                          "(the protected column)")
    for other in ("privacy", "adversarial"):
        if cfg.get(other):
            raise ConfigError(f"config: fairness.mitigation and [{other}] cannot be combined "
                              "(each replaces the training step)")


def train_sensitive(cfg, rd, col: str):
    """The group of every row of the run's training part (after any validation split)."""
    from .. import data as D
    from .. import datasets
    d = cfg["data"]
    if d.get("dataset") == "hmda":
        split = datasets.load("hmda", test_size=d.get("test_size", 0.2),
                              seed=cfg["train"]["seed"])
        if col in split.extras["sensitive_train"]:
            a = np.asarray(split.extras["sensitive_train"][col])
            if d.get("val_size", 0) > 0:  # the same split prepare_data made of the rows
                a = D.train_test_split(a, split.y_train, test_size=d["val_size"],
                                       stratify=True, seed=cfg["train"]["seed"] + 1)[0]
            return a
    names = (rd.meta.get("inputs") or {}).get("columns") or []
    if col not in names:
        raise ConfigError(f"config: fairness.sensitive must name a protected attribute or a "
                          f"feature column ({', '.join(map(str, names)) or 'none'}), got {col!r}")
    vals = np.asarray(rd.x_train).reshape(len(rd.x_train), -1)[:, names.index(col)]
    if len(np.unique(vals)) > 20:
        raise ConfigError(f"config: fairness.sensitive column {col!r} has "
                          f"{len(np.unique(vals))} distinct values; expected <= 20 groups")
    return vals


def mitigate(cfg, rd, trainer, loader):
    """Switch a ``lamina train`` Trainer to the fair step when ``[fairness] mitigation`` is set.

    Args:
        cfg (dict): the validated config.
        rd (RunData): the run's data (``lamina.cli.data.prepare_data``).
        trainer (Trainer): its ``step_fn`` is replaced.
        loader (DataLoader): the plain training loader.

    Returns:
        the loader to fit: the same rows and order, targets packed with the groups.
    """
    check_mitigation(cfg)
    f = cfg.get("fairness") or {}
    mit = f.get("mitigation", "none")
    if mit == "none":
        return loader
    if rd.task != "classification" or rd.n_out != 2:
        raise ConfigError(f"config: fairness.mitigation needs a binary classification run, got "
                          f"task {rd.task!r} with {rd.n_out} outputs")
    from .. import data as D
    from .. import fairness as fz
    from .data import augmentation
    a = train_sensitive(cfg, rd, f["sensitive"])
    w = fz.reweighing(rd.y_train, a) if mit == "reweighing" else None
    strength, constraint = float(f.get("strength", 1.0)), f.get("constraint", CONSTRAINTS[0])
    if mit == "adversarial":
        deb = fz.AdversarialDebiasing(trainer.model, n_groups=int(np.unique(a).size),
                                      strength=strength, constraint=constraint)
        trainer.optimizer.add_param_group({"params": list(deb.adversary.parameters())})
        trainer.model, trainer.step_fn = deb.model, deb._step  # saved weights: the predictor
    else:
        trainer.step_fn = fz.fair_step(strength if mit == "penalty" else 0.0, constraint,
                                       weighted=w is not None)
    d = cfg["data"]
    return D.DataLoader(D.ArrayDataset(rd.x_train, fz.pack_targets(rd.y_train, a, w)),
                        batch_size=d["batch_size"], shuffle=True, seed=cfg["train"]["seed"],
                        transform=augmentation(d.get("augment", []), rd.input_shape))
