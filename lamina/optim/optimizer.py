"""``Optimizer``: parameter groups, lazily created per-parameter state, and checkpoints.

Each algorithm subclasses :class:`Optimizer` and supplies three small pieces: ``_validate``
(hyper-parameter checks with errors that teach), ``_init_state`` (the buffers of one parameter)
and ``_update`` (which calls the algorithm's pure array function, e.g. ``sgd_step``). The base
class owns everything else: groups, skipping parameters without a gradient, ``zero_grad`` and a
``state_dict`` that round-trips exactly and holds only arrays and Python scalars.
"""

from __future__ import annotations

from .. import backend as B
from ..autograd.grad_mode import enable_grad
from ..autograd.tensor import Tensor
from ..errors import ShapeError, check, op_error

__all__ = ["Optimizer", "check_hparam", "update_direction", "ema_"]


def check_hparam(cond: bool, op: str, expected: str, got) -> None:
    """Raise ``ValueError("{op}: expected {expected}, got {got}")`` unless ``cond`` holds.

    Example:
        >>> check_hparam(lr >= 0, "SGD", "lr >= 0", lr)   # SGD: expected lr >= 0, got -0.1
    """
    check(bool(cond), op, expected, repr(got) if isinstance(got, str) else str(got),
          cls=ValueError)


def update_direction(param, grad, *, lr: float = 0.0, weight_decay: float = 0.0,
                     maximize: bool = False, decoupled: bool = False):
    """The gradient an update follows (PyTorch's shared preamble, any array module).

    ``-grad`` when maximizing; with ``weight_decay``, plus ``weight_decay * param`` (L2), or,
    when ``decoupled`` (AdamW/NAdamW), ``param *= 1 - lr * weight_decay`` in place first and the
    gradient unchanged. ``grad`` itself is never modified.
    """
    g = -grad if maximize else grad
    if weight_decay != 0:
        if decoupled:
            param *= 1.0 - lr * weight_decay
        else:
            g = g + weight_decay * param
    return g


def ema_(avg, x, decay: float) -> None:
    """``avg = decay * avg + (1 - decay) * x`` in place (running averages of g, g^2, ...)."""
    avg *= decay
    avg += (1.0 - decay) * x


class Optimizer:
    """Base class of every optimizer.

    Args:
        params: an iterable of :class:`~lamina.autograd.Parameter` (any floating leaf tensor),
            or of dicts ``{"params": [...], "lr": ..., ...}`` (parameter groups with their own
            options; missing options take ``defaults``).
        defaults (dict): the default hyper-parameters of every group.

    Attributes:
        param_groups (list[dict]): each group's ``"params"`` list and hyper-parameters.
            Schedulers change ``group["lr"]`` (and momentum / betas) between steps.
        state (dict): per-parameter state, keyed by the parameter, created on its first step.
        defaults (dict): the defaults given at construction.

    Example:
        >>> opt = lamina.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> opt.zero_grad(); loss.backward(); opt.step()
    """

    def __init__(self, params, defaults: dict):
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise op_error(name, "an iterable of Parameters or of dicts (param groups)",
                           "a single Tensor", "wrap it in a list: [param]", cls=TypeError)
        self.defaults = dict(defaults)
        self.state: dict = {}
        self.param_groups: list[dict] = []
        groups = list(params)
        check(len(groups) > 0, name, "a non-empty iterable of Parameters",
              "an empty list", cls=ValueError)
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for g in groups:
            self.add_param_group(g)

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters (e.g. a new head when fine-tuning) with its own options.

        Args:
            param_group (dict): ``"params"`` (a Parameter or an iterable of them) and any
                hyper-parameters; the missing ones are taken from ``defaults``.

        Raises:
            TypeError: an entry is not a floating leaf tensor.
            ValueError: a parameter is already in another group, or a hyper-parameter is out of
                range.
        """
        name = type(self).__name__
        check(isinstance(param_group, dict), name, "a param group dict",
              type(param_group).__name__, cls=TypeError)
        group = dict(param_group)
        ps = group.get("params")
        ps = [ps] if isinstance(ps, Tensor) else list(ps or [])
        for p in ps:
            check(isinstance(p, Tensor), name, "Parameters (tensors) in 'params'",
                  type(p).__name__, cls=TypeError)
            check(p.is_leaf, name, "leaf tensors", "a non-leaf tensor",
                  "optimize the leaf it was computed from", cls=ValueError)
            check(B.is_floating(p.dtype), name, "floating parameters", f"dtype {p.dtype}",
                  cls=TypeError)
        check(len({id(p) for p in ps}) == len(ps), name,
              "each parameter at most once in a group", "a duplicated parameter",
              cls=ValueError)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        check(not any(id(p) in seen for p in ps), name,
              "each parameter in only one param group",
              "a parameter that already is in another group", cls=ValueError)
        group["params"] = ps
        for k, v in self.defaults.items():
            group.setdefault(k, v)
        self._validate(group)
        self.param_groups.append(group)

    def _validate(self, group: dict) -> None:
        """Check one group's hyper-parameters (subclasses raise ``ValueError``)."""

    # ------------------------------------------------------------------ stepping
    def step(self, closure=None):
        """Update every parameter that has a gradient (parameters whose ``.grad`` is None are
        skipped, their state untouched).

        Args:
            closure (callable, optional): re-evaluates the model and returns the loss; it is
                called (with gradient recording on) before the update. Default None.

        Returns:
            The closure's loss, or None.
        """
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p._grad is None:
                    continue
                state = self.state.get(p)
                if state is None:
                    state = self.state[p] = self._init_state(p, group)
                self._update(p, p._grad.array, state, group)
        return loss

    def _init_state(self, p, group: dict) -> dict:
        """The fresh state of parameter ``p`` (arrays shaped like ``p``, Python scalars)."""
        return {}

    def _update(self, p, grad, state: dict, group: dict) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement _update")

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters.

        Args:
            set_to_none (bool): set ``.grad`` to None (frees memory; the next ``step`` skips
                parameters that receive no gradient). False fills the arrays with zeros in
                place. Default True.
        """
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p._grad = None
                elif p._grad is not None:
                    p._grad.array.fill(0)

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict:
        """A snapshot of the optimizer: ``{"state": {index: {...}}, "param_groups": [...]}``.

        Parameters are numbered 0, 1, ... in group order (as in PyTorch); each group lists
        its indices under ``"params"``. State values are copies of the arrays (so the snapshot
        does not change as training continues) or Python scalars, which a safetensors + JSON
        writer can store as they are.

        Returns:
            dict: ``"state"`` (dict[int, dict[str, array | int | float]]) and
            ``"param_groups"`` (list[dict]).
        """
        index, groups, i = {}, [], 0
        for g in self.param_groups:
            packed = {k: v for k, v in g.items() if k != "params"}
            packed["params"] = list(range(i, i + len(g["params"])))
            for p in g["params"]:
                index[id(p)] = i
                i += 1
            groups.append(packed)
        state = {}
        for p, s in self.state.items():
            state[index[id(p)]] = {k: (v.copy() if isinstance(v, B.ndarray_types) else v)
                                   for k, v in s.items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a :meth:`state_dict` snapshot onto this optimizer's parameters.

        Arrays are copied to each parameter's device and dtype; keys may be ints or the
        strings JSON turns them into, and tuples may come back as lists.

        Args:
            state_dict (dict): as returned by :meth:`state_dict`.

        Raises:
            ValueError: the number of groups or of parameters per group differs.
            ShapeError: a state array's shape differs from its parameter's.
        """
        name = f"{type(self).__name__}.load_state_dict"
        saved = state_dict["param_groups"]
        check(len(saved) == len(self.param_groups), name,
              f"{len(self.param_groups)} param groups", f"{len(saved)}", cls=ValueError)
        lens = [len(g["params"]) for g in self.param_groups]
        saved_lens = [len(g["params"]) for g in saved]
        check(lens == saved_lens, name, f"param group sizes {lens}", f"{saved_lens}",
              cls=ValueError)
        by_index = {}
        for g, sg in zip(self.param_groups, saved):
            for p, j in zip(g["params"], sg["params"]):
                by_index[int(j)] = p
        new_state = {}
        for key, s in state_dict["state"].items():
            p = by_index[int(key)]
            new_state[p] = {k: self._cast(name, k, v, p) for k, v in s.items()}
        new_groups = []
        for g, sg in zip(self.param_groups, saved):
            ng = {k: (tuple(v) if isinstance(g.get(k), tuple) and isinstance(v, list) else v)
                  for k, v in sg.items() if k != "params"}
            ng["params"] = g["params"]
            new_groups.append(ng)
        self.state, self.param_groups = new_state, new_groups

    @staticmethod
    def _cast(name: str, key: str, v, p):
        if not hasattr(v, "shape") or not hasattr(v, "dtype"):
            return v  # a Python scalar (step count, mu_product...)
        if v.shape != p.shape:
            raise ShapeError(f"{name}: expected state '{key}' of shape {p.shape}, "
                             f"got {tuple(v.shape)}")
        xp = B.get_array_module(p.array)
        if xp is not B.np:
            return xp.array(v, dtype=p.dtype)
        return B.np.array(B.to_host(v), dtype=p.dtype)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, g in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(g.items()) if k != "params"]
        return "\n".join(lines) + "\n)"
