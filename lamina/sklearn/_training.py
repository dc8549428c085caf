"""The pieces of one ``NeuralNet.fit`` that are not the estimator: seeding a block, the
validation split (``train_split``) and the batch step that weights each sample's loss."""

from __future__ import annotations

import contextlib

from .. import backend as B
from ..autograd.tensor import Tensor
from ..errors import check, op_error

__all__ = ["seeded", "host", "split_train_valid", "weighted_step"]

np = B.np


@contextlib.contextmanager
def seeded(seed):
    """Seed lamina's generator for a block and restore the global state afterwards.

    Args:
        seed (int or None): None leaves the generator alone.

    Example:
        >>> with seeded(0):
        ...     w = lamina.randn(3)
    """
    if seed is None:
        yield
        return
    state = B.get_rng_state()
    B.manual_seed(int(seed))
    try:
        yield
    finally:
        B.set_rng_state(state)


def host(a):
    """A Tensor's (or array's) values as a host NumPy array."""
    return B.to_host(a.array if isinstance(a, Tensor) else a)


def split_train_valid(split, X, y_enc, w, op: str):
    """Split ``(X, y_enc, w)`` by a wrapper's ``train_split`` into a training triple and a
    validation pair (None when ``split`` is None or 0).

    Args:
        split: None, a fraction in (0, 1) (stratified when ``y_enc`` is 1-D, plain when a
            class is too small), a scikit-learn splitter (its first fold) or a callable
            ``(X, y) -> (train_idx, valid_idx)``.
        X: ``(n, ...)`` inputs.
        y_enc: ``(n,)`` or ``(n, k)`` encoded targets.
        w: ``(n,)`` sample weights.
        op (str): the estimator's name, for error messages.

    Returns:
        tuple ``((X_tr, y_tr, w_tr), (X_va, y_va) or None)``.
    """
    if split is None or split == 0:
        return (X, y_enc, w), None
    n = len(X)
    if isinstance(split, float):
        check(0 < split < 1, op, "train_split as a fraction in (0, 1)", repr(split))
        from sklearn.model_selection import train_test_split
        idx = np.arange(n)
        strat = y_enc if y_enc.ndim == 1 else None
        try:
            tr, va = train_test_split(idx, test_size=split, stratify=strat,
                                      random_state=int(B.rng().integers(2**31 - 1)))
        except ValueError:  # a class too small to stratify
            tr, va = train_test_split(idx, test_size=split,
                                      random_state=int(B.rng().integers(2**31 - 1)))
    elif hasattr(split, "split"):
        tr, va = next(iter(split.split(X, y_enc if y_enc.ndim == 1 else None)))
    elif callable(split):
        tr, va = split(X, y_enc)
    else:
        raise op_error(op, "train_split as None, a fraction, a CV splitter or a callable "
                       "(X, y) -> (train_idx, val_idx)", repr(split), cls=TypeError)
    return (X[tr], y_enc[tr], w[tr]), (X[va], y_enc[va])


def weighted_step(trainer, batch) -> dict:
    """One step on ``(x, y, w)``: the mean of per-sample losses times their weights.

    Args:
        trainer (Trainer): its ``loss_fn`` is a bound method of the estimator, whose
            ``_per_sample(out, y)`` gives the unreduced loss ``(batch,)``.
        batch (tuple): ``(x, y, w)`` Tensors.

    Returns:
        dict: ``loss`` (float), ``y_pred`` and ``y_true`` arrays for the epoch metrics.
    """
    x, y, w = batch
    net = trainer.loss_fn.__self__
    opt = trainer.optimizer
    opt.zero_grad()
    out = trainer.model(x)
    loss = (net._per_sample(out, y) * w).mean()
    loss.backward()
    opt.step()
    return {"loss": loss.item(), "y_pred": out.array, "y_true": y.array}
