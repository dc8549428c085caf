"""Turning a wrapper's parameters into objects: the module, optimizer, criterion, scheduler.

Each of ``module``, ``optimizer``, ``criterion`` and ``scheduler`` may be a name, a class (or
factory function) or an instance; the double-underscore parameters (``module__hidden=(64,)``)
are the keyword arguments its constructor receives. Sizes a user should not have to repeat
(number of input features, of outputs, class counts) are filled in from the data at ``fit``
when the constructor takes them and the user did not give them.
"""

from __future__ import annotations

import copy
import inspect

from .. import functional as F
from .. import models, nn, optim
from ..errors import op_error

__all__ = ["ROUTED", "routed_kwargs", "build_module", "build_optimizer", "build_criterion",
           "build_scheduler", "ZOO"]

ROUTED = ("module", "optimizer", "criterion", "scheduler")

# zoo names a wrapper accepts as ``module=...`` (the CLI's names for the same classes)
ZOO = {"mlp": models.MLP, "perceptron": models.Perceptron, "lenet5": models.LeNet5,
       "resnet": models.ResNet, "gru_classifier": models.GRUClassifier,
       "lstm_classifier": models.LSTMClassifier, "cnn1d": models.CNN1DClassifier,
       "textcnn": models.TextCNN}

_IN_NAMES = ("in_features", "input_size", "input_dim", "n_features", "in_channels")
_OUT_NAMES = ("out_features", "num_classes", "n_classes", "output_size", "out_dim")
_COUNT_NAMES = ("class_counts", "cls_num_list")


def routed_kwargs(est, prefix: str) -> dict:
    """The ``prefix__name`` attributes of ``est`` as ``{name: value}``."""
    p = prefix + "__"
    return {k[len(p):]: v for k, v in vars(est).items() if k.startswith(p)}


def _signature_names(fn) -> set:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return set()
    return set(sig.parameters)


def _fill(fn, kwargs: dict, names, value) -> None:
    accepted = _signature_names(fn)
    for name in names:
        if name in accepted:
            if not any(n in kwargs for n in names):
                kwargs[name] = value
            return


def build_module(spec, kwargs: dict, n_in: int, n_out: int, op: str):
    """The network for ``spec`` with ``n_in`` inputs and ``n_out`` outputs.

    Args:
        spec: a zoo name (``"mlp"``...), a Module class or factory, or a Module instance
            (deep-copied, so refitting starts again from the instance's weights).
        kwargs (dict): the ``module__*`` arguments.
        n_in (int): features (``X.shape[1]``), passed as ``in_features``/``input_size``/...
        n_out (int): outputs (classes, or regression targets), as ``out_features``/...
        op (str): the calling estimator, for error messages.

    Returns:
        Module.
    """
    if isinstance(spec, nn.Module):
        if kwargs:
            raise op_error(op, "module__* arguments only with a module class or name",
                           f"a Module instance and module__{sorted(kwargs)}",
                           "pass the class, e.g. module=MyNet, module__width=64")
        return copy.deepcopy(spec)
    if isinstance(spec, str):
        if spec.lower() not in ZOO:
            raise op_error(op, f"module as one of {sorted(ZOO)}, a Module class or instance",
                           repr(spec))
        cls = ZOO[spec.lower()]
        kwargs = dict(kwargs)
        if cls is models.MLP:
            kwargs.setdefault("hidden", (64,))
    elif callable(spec):
        cls, kwargs = spec, dict(kwargs)
    else:
        raise op_error(op, "module as a zoo name, a Module class or a Module instance",
                       type(spec).__name__, cls=TypeError)
    _fill(cls, kwargs, _IN_NAMES, int(n_in))
    _fill(cls, kwargs, _OUT_NAMES, int(n_out))
    net = cls(**kwargs)
    if not isinstance(net, nn.Module):
        raise op_error(op, "module to build a lamina.nn.Module", type(net).__name__,
                       cls=TypeError)
    return net


def _by_name(namespace, names, name: str, what: str, op: str):
    table = {n.lower(): getattr(namespace, n) for n in names}
    key = name.lower().replace("_", "")
    for k, v in table.items():
        if k.replace("_", "") == key:
            return v
    raise op_error(op, f"{what} as a lamina name ({', '.join(sorted(table))}), a class or an "
                   "instance", repr(name))


def build_optimizer(spec, params, lr: float, kwargs: dict, op: str):
    """An optimizer over ``params``: ``spec`` is a ``lamina.optim`` name (``"adam"``,
    ``"sgd"``...) or class; ``lr`` and the ``optimizer__*`` arguments are passed to it."""
    if isinstance(spec, str):
        spec = _by_name(optim, [n for n in optim.__all__ if n[0].isupper()
                                and n not in ("Optimizer", "MultiOptimizer", "LRScheduler",
                                              "LRFinderResult")], spec, "optimizer", op)
    if not callable(spec):
        raise op_error(op, "optimizer as a name or an Optimizer class", type(spec).__name__,
                       cls=TypeError)
    return spec(params, lr=lr, **kwargs)


def build_criterion(spec, kwargs: dict, class_counts, op: str):
    """A loss ``f(outputs, targets, reduction=...)`` (or a loss Module).

    Args:
        spec: None (the estimator's default), a ``lamina.functional`` loss name
            (``"cross_entropy"``), a ``lamina.nn`` loss name (``"FocalLoss"``, ``"focal"``,
            ``"ldam"``...), a loss Module class (built with ``criterion__*``; ``class_counts``
            filled in from ``y`` when its constructor takes it), a Module instance or a function.
        kwargs (dict): the ``criterion__*`` arguments.
        class_counts: per-class training counts (classifiers) or None.
        op (str): for error messages.
    """
    if isinstance(spec, str):
        alias = {"focal": "FocalLoss", "ldam": "LDAMLoss", "logit_adjusted": "LogitAdjustedLoss",
                 "logit_adjustment": "LogitAdjustedLoss"}.get(spec.lower(), spec)
        fn = getattr(F, alias, None)
        if fn is not None and not kwargs and not isinstance(fn, type):
            return fn
        cls_names = [n for n in dir(nn) if n.endswith("Loss") and isinstance(getattr(nn, n),
                                                                          type)]
        spec = _by_name(nn, cls_names, alias, "criterion", op)
    if isinstance(spec, type):
        kwargs = dict(kwargs)
        if class_counts is not None:
            _fill(spec, kwargs, _COUNT_NAMES, list(class_counts))
        return spec(**kwargs)
    if callable(spec):
        return spec
    raise op_error(op, "criterion as a loss name, class, Module or function",
                   type(spec).__name__, cls=TypeError)


def build_scheduler(spec, optimizer, kwargs: dict, op: str):
    """An lr scheduler (stepped once per epoch), or None when ``spec`` is None."""
    if spec is None:
        return None
    if isinstance(spec, str):
        names = [n for n in dir(optim.lr_scheduler) if n[0].isupper() and n.endswith("LR")
                 or n in ("CosineAnnealingWarmRestarts", "ReduceLROnPlateau")]
        spec = _by_name(optim.lr_scheduler, names, spec, "scheduler", op)
    return spec(optimizer, **kwargs)
