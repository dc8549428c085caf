"""``Module``: PyTorch's vocabulary and core semantics, none of its hook matrix.

Assigning a :class:`Parameter`, a :class:`Module` or a registered buffer as an attribute
registers it; one walker (``_named_members``) serves ``named_parameters``, ``named_buffers`` and
``named_modules``; ``load_state_dict`` reports every missing, unexpected and size-mismatched key in
one error. Forward hooks let interpretability tools (Grad-CAM, LRP) see activations.
"""

from __future__ import annotations

from collections import OrderedDict

from .. import backend as B
from ..autograd.tensor import Parameter, RemovableHandle, Tensor

__all__ = ["Module", "Parameter"]


class Module:
    """Base class of every layer and model.

    Subclasses call ``super().__init__()`` first, then assign parameters and child modules as
    attributes, and implement ``forward``. ``module(x)`` calls ``forward`` (and forward hooks).
    """

    training: bool

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", [])
        object.__setattr__(self, "_forward_pre_hooks", [])
        object.__setattr__(self, "_backward_hooks", [])
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_frozen_eval", False)

    # ------------------------------------------------------------------ registration
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before "
                                 "assigning attributes")
        params, mods, bufs = self._parameters, self._modules, self._buffers
        if isinstance(value, Parameter):
            mods.pop(name, None)
            bufs.pop(name, None)
            self.__dict__.pop(name, None)
            params[name] = value
        elif isinstance(value, Module):
            params.pop(name, None)
            bufs.pop(name, None)
            self.__dict__.pop(name, None)
            mods[name] = value
        elif name in bufs:
            bufs[name] = value.array if isinstance(value, Tensor) else value
        elif name in params or name in mods:
            if value is not None:
                kind = "Parameter" if name in params else "Module"
                raise TypeError(f"{type(self).__name__}: cannot assign {type(value).__name__} "
                                f"as {kind.lower()} {name!r} ({kind} or None expected)")
            (params if name in params else mods)[name] = None
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        d = self.__dict__
        params = d.get("_parameters")
        if params is not None and name in params:  # the hot case: a layer reading its weights
            return params[name]
        for key in ("_modules", "_buffers"):
            store = d.get(key)
            if store is not None and name in store:
                v = store[name]
                return Tensor(v) if key == "_buffers" and v is not None else v
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        for key in ("_parameters", "_modules", "_buffers"):
            if name in self.__dict__[key]:
                del self.__dict__[key][name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` (or None, for an optional parameter such as a missing bias)."""
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: expected a Parameter or None for {name!r}, "
                            f"got {type(param).__name__}")
        self._parameters[name] = param

    def register_buffer(self, name: str, array, persistent: bool = True) -> None:
        """Register a non-learnable array (e.g. BatchNorm's running mean) saved in state dicts
        when ``persistent``. Reading ``self.name`` gives a Tensor view of it."""
        if isinstance(array, Tensor):
            array = array.array
        self._buffers[name] = array
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)

    def add_module(self, name: str, module: "Module | None") -> None:
        """Register a child module under ``name``."""
        self._modules[name] = module

    register_module = add_module

    # ------------------------------------------------------------------ traversal
    def _named_members(self, get, prefix="", recurse=True):
        seen = set()
        mods = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for mprefix, m in mods:
            for k, v in get(m):
                if v is None or id(v) in seen:
                    continue
                seen.add(id(v))
                yield (mprefix + "." + k if mprefix else k), v

    def named_parameters(self, prefix: str = "", recurse: bool = True):
        """Yield ``(name, Parameter)`` pairs, shared parameters once."""
        yield from self._named_members(lambda m: m._parameters.items(), prefix, recurse)

    def parameters(self, recurse: bool = True):
        """Yield every parameter (what an optimizer takes)."""
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "", recurse: bool = True):
        """Yield ``(name, Tensor)`` for every buffer."""
        for name, b in self._named_members(lambda m: m._buffers.items(), prefix, recurse):
            yield name, Tensor(b)

    def buffers(self, recurse: bool = True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def named_children(self):
        for name, m in self._modules.items():
            if m is not None:
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def named_modules(self, memo=None, prefix: str = ""):
        """Yield ``(qualified_name, module)`` for this module and all descendants."""
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is None:
                continue
            yield from m.named_modules(memo, prefix + "." + name if prefix else name)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def get_submodule(self, target: str) -> "Module":
        """The descendant at dotted path ``target`` (``""`` is self)."""
        m = self
        for part in filter(None, target.split(".")):
            if part not in m._modules:
                raise AttributeError(f"get_submodule: {type(m).__name__} has no child {part!r}")
            m = m._modules[part]
        return m

    # ------------------------------------------------------------------ modes
    def train(self, mode: bool = True) -> "Module":
        """Set training mode recursively (dropout active, batch norm uses batch statistics).
        Children are switched through their own ``train`` so subclasses may override it.
        A module frozen by ``freeze(bn_eval=True)`` that keeps running statistics (BatchNorm)
        stays in eval mode, so fine-tuning a head never moves a frozen backbone's statistics."""
        if not isinstance(mode, bool):
            raise ValueError(f"train: expected mode True or False, got {mode!r}")
        object.__setattr__(self, "training", mode and not self._held_in_eval())
        for m in self.children():
            m.train(mode)
        return self

    def _held_in_eval(self) -> bool:
        """Frozen with ``bn_eval`` and holding running statistics (``running_*`` buffers)."""
        return self.__dict__.get("_frozen_eval", False) and any(
            k.startswith("running_") and v is not None for k, v in self._buffers.items())

    def eval(self) -> "Module":
        """Set evaluation mode recursively."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> "Module":
        """Freeze (False) or unfreeze (True) every parameter."""
        for p in self.parameters():
            p.requires_grad = requires_grad
        return self

    def freeze(self, bn_eval: bool = True) -> "Module":
        """Stop gradients to every parameter (transfer learning); see :meth:`unfreeze`.

        Args:
            bn_eval (bool): also hold every layer with running statistics (BatchNorm) inside
                this module in eval mode, now and whenever a parent calls ``train()``, so its
                running mean and variance stay those of the pretrained network (Keras's
                behaviour for a non-trainable BatchNormalization). Default True.

        Returns:
            self.

        Example:
            >>> model.features.freeze()      # backbone fixed, its BatchNorms in eval mode
            >>> model.train()                # the head trains; features' BatchNorms stay eval
        """
        self.requires_grad_(False)
        self._hold_running_stats(bool(bn_eval))
        return self

    def unfreeze(self) -> "Module":
        """Let gradients reach every parameter again and release the layers
        :meth:`freeze` held in eval mode (they take their parent's mode back)."""
        self.requires_grad_(True)
        self._hold_running_stats(False)
        return self

    def _hold_running_stats(self, hold: bool) -> None:
        """Set the freeze flag on self and below: held layers go to eval mode, released ones
        take their parent's mode."""
        was_held = {id(m) for m in self.modules() if m._held_in_eval()}
        for m in self.modules():
            object.__setattr__(m, "_frozen_eval", hold)
        pairs = [(None, self)] + [(m, c) for m in self.modules() for c in m.children()]
        for parent, c in pairs:  # pre-order: a parent's mode is final before its children's
            if c._held_in_eval():
                object.__setattr__(c, "training", False)
            elif id(c) in was_held and parent is not None:
                object.__setattr__(c, "training", parent.training)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient."""
        for p in self.parameters():
            if set_to_none or p._grad is None:
                p._grad = None
            else:
                p._grad.array[...] = 0

    def apply(self, fn) -> "Module":
        """Call ``fn(m)`` on every submodule (children first) and self; returns self."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    def to(self, *args, **kwargs) -> "Module":
        """Move/cast parameters and buffers in place (``"cpu"``/``"cuda"``, or a float dtype)."""
        from ..autograd.device import parse_to_args
        device, dtype = parse_to_args(args, dict(kwargs))
        for m in self.modules():
            for k, p in m._parameters.items():
                if p is None:
                    continue
                a = p.array
                if device is not None:
                    a = B.to_device_array(a, device)
                if dtype is not None and a.dtype.kind == "f":
                    a = a.astype(dtype)
                p.array = a
                if p._grad is not None:
                    p._grad = None
            for k, b in m._buffers.items():
                if b is None:
                    continue
                if device is not None:
                    b = B.to_device_array(b, device)
                if dtype is not None and b.dtype.kind == "f":
                    b = b.astype(dtype)
                m._buffers[k] = b
        return self

    def float(self) -> "Module":
        return self.to(B.np.float32)

    def double(self) -> "Module":
        return self.to(B.np.float64)

    def cpu(self) -> "Module":
        return self.to("cpu")

    def cuda(self) -> "Module":
        return self.to("cuda")

    # ------------------------------------------------------------------ state
    def state_dict(self, prefix: str = "", keep_vars: bool = False) -> "OrderedDict":
        """Parameters and persistent buffers by qualified name (torch's names), as arrays
        (or the Parameter objects themselves with ``keep_vars=True``)."""
        out = OrderedDict()
        for mprefix, m in self.named_modules(prefix=prefix.rstrip(".")):
            pre = mprefix + "." if mprefix else ""
            for k, p in m._parameters.items():
                if p is not None:
                    out[pre + k] = p if keep_vars else p.array
            for k, b in m._buffers.items():
                if b is not None and k not in m._non_persistent:
                    out[pre + k] = b
        return out

    def load_state_dict(self, state_dict, strict: bool = True, prefix: str = ""):
        """Copy arrays into parameters and buffers (in place, keeping dtype and device).

        Args:
            state_dict: mapping name -> array/Tensor (e.g. from ``lamina.load`` or a torch
                model's ``state_dict()`` converted to NumPy).
            strict (bool): raise if keys are missing or unexpected. Size mismatches always raise.
            prefix (str): only keys starting with ``prefix`` are used, with it removed (e.g.
                ``"encoder."`` to load a sub-network's weights).

        Returns:
            ``(missing_keys, unexpected_keys)`` lists.

        Raises:
            KeyError/ValueError listing every missing, unexpected and mismatched key at once.
        """
        if prefix:
            state_dict = {k[len(prefix):]: v for k, v in state_dict.items()
                          if k.startswith(prefix)}
        own = self.state_dict(keep_vars=True)
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        mismatched = []
        for k, v in state_dict.items():
            if k in own:
                arr = v.array if isinstance(v, Tensor) else v
                shape = tuple(getattr(arr, "shape", ()))
                if shape != tuple(own[k].shape):
                    mismatched.append(f"{k}: checkpoint {shape} vs model {tuple(own[k].shape)}")
        problems = []
        if mismatched:
            problems.append("size mismatch for " + "; ".join(mismatched))
        if strict and missing:
            problems.append("missing keys: " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected keys: " + ", ".join(unexpected))
        if problems:
            raise KeyError(f"load_state_dict for {type(self).__name__}: " + " | ".join(problems)
                           + " (pass strict=False to load the matching keys only)")
        bufs = {}
        for mprefix, m in self.named_modules():
            pre = mprefix + "." if mprefix else ""
            for k in m._buffers:
                bufs[pre + k] = (m, k)
        for k, v in state_dict.items():
            if k not in own:
                continue
            arr = v.array if isinstance(v, Tensor) else v
            if hasattr(arr, "detach") and hasattr(arr, "numpy"):  # a torch tensor
                arr = arr.detach().cpu().numpy()
            target = own[k]
            xp = B.get_array_module(target.array if isinstance(target, Tensor) else target)
            if k in bufs:
                m, name = bufs[k]
                old = m._buffers[name]
                m._buffers[name] = xp.asarray(arr, dtype=old.dtype).copy()
            else:
                target.array = xp.asarray(arr, dtype=target.array.dtype).copy()
        return missing, unexpected

    # ------------------------------------------------------------------ calling
    def forward(self, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement forward()")

    def __call__(self, *args, **kwargs):
        if not (self._forward_pre_hooks or self._forward_hooks):
            if self.__dict__.get("_backward_hooks"):
                from .backward_hooks import call_with_backward_hooks
                return call_with_backward_hooks(self, self._backward_hooks, self.forward,
                                                args, kwargs)
            return self.forward(*args, **kwargs)
        if self.__dict__.get("_backward_hooks"):
            from .backward_hooks import call_with_backward_hooks
            return call_with_backward_hooks(self, self._backward_hooks, self._hooked_forward,
                                            args, kwargs)
        return self._hooked_forward(*args, **kwargs)

    def _hooked_forward(self, *args, **kwargs):
        for hook in self._forward_pre_hooks:
            r = hook(self, args)
            if r is not None:
                args = r if isinstance(r, tuple) else (r,)
        out = self.forward(*args, **kwargs)
        for hook in self._forward_hooks:
            r = hook(self, args, out)
            if r is not None:
                out = r
        return out

    def register_forward_hook(self, hook) -> RemovableHandle:
        """``hook(module, inputs, output)`` after every forward; a non-None return replaces
        the output. Interpretability tools use it to capture activations."""
        self._forward_hooks.append(hook)
        return RemovableHandle(self._forward_hooks, hook)

    def register_full_backward_hook(self, hook) -> RemovableHandle:
        """PyTorch's ``register_full_backward_hook``: ``hook(module, grad_input, grad_output)``
        runs when the gradients with respect to the module's Tensor inputs are computed.

        ``grad_input`` and ``grad_output`` are tuples of Tensors (None where an input needs
        no gradient); a non-None return (a tuple, one entry per Tensor input) replaces
        ``grad_input``. Positional Tensor inputs only, as in PyTorch.
        """
        if "_backward_hooks" not in self.__dict__:
            object.__setattr__(self, "_backward_hooks", [])
        self._backward_hooks.append(hook)
        return RemovableHandle(self._backward_hooks, hook)

    def register_forward_pre_hook(self, hook) -> RemovableHandle:
        """``hook(module, inputs)`` before every forward; may return replacement inputs."""
        self._forward_pre_hooks.append(hook)
        return RemovableHandle(self._forward_pre_hooks, hook)

    # ------------------------------------------------------------------ printing
    def summary(self, input_shape, dtype=None, print_fn=print) -> str:
        """Keras's ``model.summary()``: see :func:`lamina.nn.summary.summary`.

        Args:
            input_shape (tuple | list of tuples): one sample's shape, without the batch dim.
            dtype (optional): input dtype. Default None (the default float dtype).
            print_fn (callable or None): where the table goes. Default ``print``.

        Returns:
            str: the table.
        """
        from .summary import summary
        return summary(self, input_shape, dtype=dtype, print_fn=print_fn)

    def extra_repr(self) -> str:
        """One-line description of this module's options (override in layers)."""
        return ""

    def __repr__(self) -> str:
        lines = []
        for name, m in self._modules.items():
            sub = repr(m).replace("\n", "\n  ")
            lines.append(f"({name}): {sub}")
        main = type(self).__name__ + "(" + self.extra_repr()
        if lines:
            main += "\n  " + "\n  ".join(lines) + "\n"
        return main + ")"

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._modules)
                      | set(self._buffers))

