"""Sanity checks for saliency maps (Adebayo et al. 2018): an explanation of a trained model
should change when the model's weights are random (model randomization) or when the model was
trained on randomly permuted labels (data randomization). An explanation that survives either
describes the input or the architecture, not what the model learned.
"""

from __future__ import annotations

import copy

from .. import backend as B
from ..errors import check
from ._core import as_array

np = B.np

__all__ = ["sanity_check", "shuffled_label_model", "spearman"]


def _average_ranks(row):
    # ties share the mean of their ranks (scipy.stats.rankdata's "average"), so a block of
    # equal values (zero attributions on a blank background) is not ordered by position
    _, inv, cnt = np.unique(row, return_inverse=True, return_counts=True)
    ends = np.cumsum(cnt).astype(np.float64)
    return (ends - (cnt - 1) / 2.0 - 1.0)[inv.reshape(-1)]


def spearman(a, b):
    """Spearman rank correlation of each row of ``a`` with the same row of ``b`` (ties get
    their average rank, as ``scipy.stats.spearmanr``).

    Args:
        a (array): ``(N, ...)``.
        b (array): same shape as ``a``.

    Returns:
        array: ``(N,)`` float64 correlations in ``[-1, 1]`` (0 for a constant row).
    """
    a = as_array(a).reshape(len(a), -1).astype(np.float64)
    b = as_array(b).reshape(len(b), -1).astype(np.float64)
    check(a.shape == b.shape, "spearman", "a and b of the same shape", f"{a.shape} and {b.shape}")
    ra = np.stack([_average_ranks(r) for r in a])
    rb = np.stack([_average_ranks(r) for r in b])
    ra -= ra.mean(1, keepdims=True)
    rb -= rb.mean(1, keepdims=True)
    den = np.sqrt((ra * ra).sum(1) * (rb * rb).sum(1))
    return (ra * rb).sum(1) / np.maximum(den, 1e-30)


def _explain(method, model, x, kwargs):
    explainer = method(model)
    return as_array(explainer.attribute(x, **kwargs))


def _reinitialize(model):
    # the layers' own initialisers where they have one (PyTorch's defaults), else N(0, std)
    rng = B.rng()
    for m in model.modules():
        own = list(m.parameters(recurse=False))
        if not own:
            continue
        if hasattr(m, "reset_parameters"):
            m.reset_parameters()
            continue
        for p in own:
            std = float(p.array.std()) or 0.05
            p.array = rng.normal(0.0, std, p.array.shape).astype(p.array.dtype)


def shuffled_label_model(model, x, y, train_fn=None, seed: int = 0, epochs: int = 10,
                         lr: float = 1e-3, batch_size: int = 64):
    """A fresh copy of ``model``'s architecture trained on randomly permuted labels: the
    reference model of Adebayo et al.'s data-randomization check.

    The copy is re-initialised (each layer's ``reset_parameters``), the labels are permuted
    (so the class frequencies stay the same) and the copy is trained by ``train_fn`` or, when
    that is None, by a small built-in recipe: :class:`lamina.train.Trainer` with Adam and
    cross-entropy. For a like-with-like comparison pass the ``train_fn`` that trained
    ``model``, so the two models differ only in their labels. The permutation and the new
    weights come from ``lamina.manual_seed(seed)``; the global random state is restored
    afterwards. ``model`` itself is not touched.

    Args:
        model (Module): the trained model (only its architecture is used).
        x (array): ``(N, ...)`` training inputs.
        y (array): ``(N,)`` integer training labels.
        train_fn (callable or None): ``train_fn(model, x, y) -> Module or None`` trains the
            given copy (in place when it returns None). Default None (built-in recipe).
        seed (int): seed of the permutation, the initialisation and the built-in recipe's
            batch order. Default 0.
        epochs (int): built-in recipe only. Default 10.
        lr (float): built-in recipe's Adam learning rate. Default 1e-3.
        batch_size (int): built-in recipe only. Default 64.

    Returns:
        Module: the trained copy, in ``model``'s train/eval mode.

    Example:
        >>> rand = shuffled_label_model(model, x_train, y_train, epochs=5)
        >>> sanity_check(Saliency, model, x_test, randomized_model=rand, target=y_test)
    """
    x = as_array(x)
    y = as_array(y).reshape(-1)
    check(len(x) == len(y), "shuffled_label_model", "one label per training row",
          f"{len(x)} rows and {len(y)} labels")
    check(y.dtype.kind in "iu", "shuffled_label_model", "integer class labels",
          f"labels of dtype {y.dtype}", cls=TypeError)
    state = B.get_rng_state()
    try:
        B.manual_seed(seed)
        y_shuffled = y[B.rng().permutation(len(y))]
        work = copy.deepcopy(model)
        _reinitialize(work)
        work.train()
        if train_fn is not None:
            out = train_fn(work, x, y_shuffled)
            work = work if out is None else out
        else:
            from ..optim import Adam
            from ..train import Trainer
            trainer = Trainer(work, Adam(work.parameters(), lr=lr), "cross_entropy", metrics=())
            trainer.fit((x, y_shuffled), epochs=epochs, batch_size=batch_size, verbose=0)
    finally:
        B.set_rng_state(state)
    return work.train(model.training)


def sanity_check(method, model, X, randomized_model=None, cascading: bool = True,
                 absolute: bool = True, train_data=None, train_fn=None, seed: int = 0,
                 **kwargs):
    """Adebayo et al. 2018's sanity checks: attributions of a trained model should change
    when its weights (model randomization) or its labels (data randomization) are random.

    Model randomization (default): re-initialise the parameterised layers from the top
    down, cumulatively (``cascading``) or one at a time, on a deep copy (the model itself is
    untouched), and report the mean Spearman rank correlation with the original
    attributions after each step. Data randomization: pass ``train_data=(x, y)`` and the
    check trains a copy of the architecture on permuted labels
    (:func:`shuffled_label_model`, with ``train_fn``, ``seed``), or pass
    ``randomized_model``, a model already trained so; one correlation is reported.

    Args:
        method (type or callable): an explainer class such as ``IntegratedGradients`` (any
            ``model -> object with .attribute``).
        model (Module): the trained model.
        X (array): ``(N, ...)`` inputs to explain.
        randomized_model (Module or None): model trained on random labels. Default None.
        cascading (bool): randomize layers cumulatively from the top. Default True.
        absolute (bool): rank ``|attr|`` (as the paper's figures do). Default True.
        train_data (tuple or None): ``(x_train, y_train)`` for the data-randomization check.
            Default None.
        train_fn (callable or None): recipe of :func:`shuffled_label_model`. Default None.
        seed (int): seed of :func:`shuffled_label_model`. Default 0.
        **kwargs: passed to ``attribute`` (e.g. ``target=y``).

    Returns:
        dict: ``{layer name: mean Spearman}`` in randomization order (model randomization),
        or ``{"randomized_labels": mean Spearman}`` (data randomization).

    Example:
        >>> sanity_check(Saliency, model, x, target=y)                     # model
        >>> sanity_check(Saliency, model, x, train_data=(xt, yt), target=y)  # data
    """
    x = as_array(X)
    ref = _explain(method, model, x, kwargs)
    prep = np.abs if absolute else (lambda v: v)
    if train_data is not None:
        check(randomized_model is None, "sanity_check", "train_data or randomized_model",
              "both", cls=ValueError)
        randomized_model = shuffled_label_model(model, *train_data, train_fn=train_fn,
                                                seed=seed)
    if randomized_model is not None:
        other = _explain(method, randomized_model, x, kwargs)
        return {"randomized_labels": float(spearman(prep(ref), prep(other)).mean())}
    names = [name for name, m in model.named_modules()
             if any(True for _ in m.parameters(recurse=False))]
    out = {}
    work = copy.deepcopy(model)
    rng = B.rng()
    for name in reversed(names):
        if not cascading:
            work = copy.deepcopy(model)
        mod = work.get_submodule(name)
        for p in mod.parameters(recurse=False):
            std = float(p.array.std()) or 0.05
            p.array = rng.normal(0.0, std, p.array.shape).astype(p.array.dtype)
        out[name] = float(spearman(prep(ref), prep(_explain(method, work, x, kwargs))).mean())
    return out
