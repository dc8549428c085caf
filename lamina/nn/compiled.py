"""``lamina.compile``: capture one call of a function of tensors, replay its op schedule.

The first call with a new input signature runs the function eagerly while a tracer records
every op it applies (its ``Function`` object, its inputs and the Tensors it returned). Later
calls with the same signature replay that flat schedule: each recorded ``forward`` runs again
on the current arrays of the inputs, parameters and buffers, and writes into the Tensors the
trace created, so no Tensor, Function or graph node is built and no argument is parsed again.
A replayed output's backward is captured too (:mod:`lamina.nn._compiled_backward`: one node
whose generated code runs the recorded backwards in the engine's order), or, where that is
refused, the recorded graph stays valid and the engine runs it. Either way results and
gradients are bit-identical to eager execution in every dtype (the same kernels run on the
same arrays in the same order).

What replay cannot reproduce is refused at trace time, and the call falls back to eager with
the reason (:attr:`CompiledFunction.fallback_reason`, a ``RuntimeWarning`` once):

* Python reading a tensor's values (``item()``, ``numpy()``, ``bool()``, ``tolist()``): the
  data-dependent control flow it feeds would be frozen;
* a tensor that is neither an argument, an op's output nor a parameter or buffer of the
  compiled modules (``lamina.randn``/``lamina.tensor`` inside the function, a detached copy);
* in-place ops, ``backward()`` inside the function, tensor hooks registered inside it, and
  buffers changed outside an op (the step counter of ``BatchNorm`` with ``momentum=None``).

Calls also run eagerly (no warning) while a compiled module has forward or backward hooks, or
while anomaly mode is on: their Python must run on every call. Tensor hooks outside the
function (on parameters, on arguments) run as usual: the engine still handles those tensors.
The modules are listed when ``compile`` is called. Only the latest call's outputs can
backward (a replay reuses the recorded graph; an earlier output raises).

A signature is the shapes, dtypes and ``requires_grad`` of the tensor arguments, the other
arguments' values, grad mode and every compiled module's ``training`` flag: a new one traces
again (cached, at most ``cache_size`` signatures).
"""

from __future__ import annotations

import warnings

from .. import backend as B
from ..autograd import engine as _engine
from ..autograd import inplace as _inplace
from ..autograd.function import TRACE, _snapshot
from ..autograd.grad_mode import NOT_DEFAULT, current_mode, is_grad_enabled
from ..autograd.tensor import CREATED, INPLACE_USED, VALUE_READ, Tensor
from ._compiled_backward import attach, build_backward
from .module import Module

__all__ = ["compile", "CompiledFunction"]

_np = B.np
_new = object.__new__


class _NotCapturable(Exception):
    pass


class _Tracer:
    """Records the ops of one eager call (see the module docstring)."""

    def __init__(self, args):
        self.nodes = []
        # tensors that existed before the call (parameters, closures) are read by reference;
        # only those constructed during the trace (CREATED hook) cannot be replayed
        self.known = {id(a) for a in args if isinstance(a, Tensor)}
        self.created = {}   # Tensors constructed during the trace (CREATED hook)
        self.problem = None

    def record(self, fn, inputs, arrays, res):
        if self.problem is not None:
            return
        for x in inputs:
            if isinstance(x, Tensor) and id(x) not in self.known and id(x) in self.created:
                self.problem = (
                    f"{fn.name} reads a tensor of shape {tuple(x.shape)} created inside the "
                    "function (by lamina.randn, lamina.tensor, detach() ...), which a replay "
                    "cannot re-create; pass it as an argument")
                return
        outs = res if type(res) is tuple else (res,)
        for o in outs:
            self.known.add(id(o))
        # forward's arguments: a template of constants, the Tensors read at replay, and the
        # casts promotion applied to them (fixed for a fixed signature)
        template, slots = list(arrays), []
        for pos, x in enumerate(inputs):
            if isinstance(x, Tensor):
                template[pos] = None
                a = arrays[pos]
                cast = None if a is x.array or a.dtype == x.array.dtype else a.dtype
                slots.append((pos, x, cast))
        self.nodes.append([fn, template, slots, outs, type(res) is tuple, tuple(inputs)])

    def value_read(self, what, t):
        if self.problem is None:
            self.problem = (f"the function reads a tensor's values in Python ({what} on a "
                            f"tensor of shape {tuple(t.shape)}); data-dependent control flow "
                            "cannot be replayed")


class _Plan:
    """One captured signature: the op schedule and where the arguments enter it."""

    __slots__ = ("nodes", "outputs", "structure", "counters", "run", "flat", "grad", "calls")

    def replay(self, args):
        self.calls += 1                 # outputs of earlier calls can no longer backward
        self.run(args)
        for bufs, key in self.counters:
            bufs[key] += 1
        return self._outputs(args)

    def build(self, arg_pos) -> None:
        """Generate the straight-line replay function ``run(args)`` for the schedule: one
        ``forward`` call per op on the current arrays, written into the traced Tensors."""
        ns = {"_np": _np, "_nd": _np.ndarray, "_snap": _snapshot, "_V": INPLACE_USED}
        names = {}

        def ref(t):
            k = arg_pos.get(id(t))
            if k is not None:
                return f"args[{k}]"
            n = names.get(id(t))
            if n is None:
                n = names[id(t)] = f"t{len(names)}"
                ns[n] = t
            return n

        lines = ["def run(args):", "    snap = _V[0]"]
        for k, (fn, template, slots, outs, multi, inputs) in enumerate(self.nodes):
            ns[f"f{k}"] = fn
            exprs = []
            for pos, c in enumerate(template):
                ns[f"c{k}_{pos}"] = c
                exprs.append(f"c{k}_{pos}")
            for pos, t, cast in slots:
                e = f"{ref(t)}.array"
                if cast is not None:
                    ns[f"d{k}_{pos}"] = cast
                    e += f".astype(d{k}_{pos})"
                exprs[pos] = e
            if "inputs" in fn.__dict__ and any(id(x) in arg_pos for x in inputs
                                               if isinstance(x, Tensor)):
                tup = ", ".join(ref(x) if isinstance(x, Tensor) else f"c{k}_{pos}"
                                for pos, x in enumerate(inputs))
                lines.append(f"    f{k}.inputs = ({tup},)")
            lines.append(f"    f{k}.saved = None")
            lines.append(f"    r = f{k}.forward({', '.join(exprs)})")
            if multi:
                for j, o in enumerate(outs):
                    lines.append(f"    a = r[{j}]")
                    lines.append(f"    {ref(o)}.array = a if a.__class__ is _nd else "
                                 "_np.asarray(a)")
            else:
                lines.append(f"    {ref(outs[0])}.array = r if r.__class__ is _nd else "
                             "_np.asarray(r)")
            if "inputs" in fn.__dict__:
                lines.append(f"    if snap: _snap(f{k})")
        exec("\n".join(lines), ns)   # noqa: S102 - generated from the trace, no user text
        self.run = ns["run"]

    def _outputs(self, args):
        if self.grad:
            return self._flat_outputs(args)
        res = []
        for kind, ref in self.outputs:
            if kind == "arg":
                res.append(args[ref])
                continue
            if kind == "ext":
                res.append(ref)
                continue
            t = _new(Tensor)               # a fresh handle on the replayed output
            t.array = ref.array
            if ref._requires_grad:
                t._requires_grad = True
                t._creator = ref._creator
                t._out_idx = ref._out_idx
            res.append(t)
        return res[0] if self.structure is None else self.structure(res)

    def _flat_outputs(self, args):
        """Handles on one :class:`CompiledBackward` node (the captured backward)."""
        res, handles = [], []
        for kind, ref in self.outputs:
            if kind == "arg":
                res.append(args[ref])
            elif kind == "ext":
                res.append(ref)
            else:
                t = _new(Tensor)
                t.array = ref.array
                if ref._requires_grad:
                    handles.append(t)
                res.append(t)
        if handles:
            attach(self.flat[0], self.flat[1], args, handles, self)
        return res[0] if self.structure is None else self.structure(res)


class CompiledFunction:
    """A function of tensors with its op schedule captured per input signature (see the
    module docstring). Made by :func:`compile`; call it as the original function.

    Attributes:
        fn: the original function.
        modules: the modules whose ``training`` flags, buffers and hooks the replay watches.
        fallback_reason: why the last signature could not be captured (None when it was).
        traces: the number of traces so far.
        replays: the number of replayed calls so far.
    """

    def __init__(self, fn, modules=(), cache_size: int = 8):
        self.fn, self.modules = fn, tuple(modules)
        self._mods = [m for mod in self.modules for m in mod.modules()]  # listed once
        self.cache_size = int(cache_size)
        self.fallback_reason = None
        self.traces = self.replays = 0
        self._plans: dict = {}
        self._warned = set()

    # ------------------------------------------------------------------ signature
    def _key(self, args):
        sig = []
        for a in args:
            if isinstance(a, Tensor):
                arr = a.array
                sig.append((arr.shape, arr.dtype.str, a._requires_grad))
            else:
                try:
                    hash(a)
                except TypeError:
                    return None
                sig.append(("value", type(a).__name__, a))
        mods = self._mods
        flags = tuple(m.training for m in mods)
        bufs = tuple(id(b) for m in mods for b in m._buffers.values())
        return (is_grad_enabled(), tuple(sig), flags, bufs)

    def _hooked(self) -> bool:
        """Whether a module has forward or backward hooks (Python that a replay would skip)."""
        for m in self._mods:
            if m._forward_pre_hooks or m._forward_hooks or m.__dict__.get("_backward_hooks"):
                return True
        return False

    def __call__(self, *args):
        args = tuple(Tensor(a) if isinstance(a, _np.ndarray) else a for a in args)
        key = self._key(args)
        if key is None:
            self._fallback("an argument is neither a tensor nor a hashable value")
            return self.fn(*args)
        plan = self._plans.get(key)
        if plan is False or (self._mods and self._hooked()):
            return self.fn(*args)       # uncapturable, or module hooks: eager
        if plan is not None:
            if plan.grad and current_mode().anomaly:
                return self.fn(*args)   # anomaly mode checks every op: a fresh eager graph
            self.replays += 1
            return plan.replay(args)
        return self._trace(key, args)

    # ------------------------------------------------------------------ tracing
    def _buffer_snapshot(self):
        return [(m, k, b, _np.array(b, copy=True)) for m in self._mods
                for k, b in m._buffers.items() if b is not None]

    def _trace(self, key, args):
        self.traces += 1
        tracer = _Tracer(args)
        snap = self._buffer_snapshot()
        bumps = _inplace.BUMPS[0]
        saved_read, saved_bw = VALUE_READ[0], _engine.TRACING[0]
        TRACE[0], VALUE_READ[0], _engine.TRACING[0] = tracer, tracer.value_read, tracer
        CREATED[0] = tracer.created
        NOT_DEFAULT.append(None)          # every op takes the general (recording) path
        try:
            out = self.fn(*args)
        finally:
            NOT_DEFAULT.pop()
            TRACE[0], VALUE_READ[0], _engine.TRACING[0] = None, saved_read, saved_bw
            CREATED[0] = None
        try:
            if tracer.problem is not None:
                raise _NotCapturable(tracer.problem)
            if _inplace.BUMPS[0] != bumps:
                raise _NotCapturable("the function runs an in-place op")
            plan = self._plan(tracer, args, out, snap)
        except _NotCapturable as e:
            self._fallback(str(e))
            if len(self._plans) < self.cache_size:
                self._plans[key] = False
            return out
        self.fallback_reason = None
        if len(self._plans) >= self.cache_size:
            self._plans.pop(next(iter(self._plans)))
        self._plans[key] = plan
        return out

    def _plan(self, tracer, args, out, snap):
        plan = _Plan()
        plan.nodes = tracer.nodes
        arg_pos = {id(a): i for i, a in enumerate(args) if isinstance(a, Tensor)}
        if isinstance(out, Tensor):
            items, plan.structure = [out], None
        elif isinstance(out, (tuple, list)) and all(isinstance(o, Tensor) for o in out):
            items, plan.structure = list(out), type(out)
        else:
            raise _NotCapturable("the function must return a Tensor or a tuple/list of Tensors, "
                                 f"got {type(out).__name__}")
        produced = {id(o) for node in plan.nodes for o in node[3]}
        plan.outputs = []
        for o in items:
            if id(o) in arg_pos:
                plan.outputs.append(("arg", arg_pos[id(o)]))
            elif id(o) in produced:
                plan.outputs.append(("op", o))
            elif id(o) not in tracer.created:
                plan.outputs.append(("ext", o))
            else:
                raise _NotCapturable("an output is a tensor created inside the function "
                                     "outside any op")
        plan.counters = []
        for m, k, b, before in snap:
            if _np.array_equal(b, before, equal_nan=True):
                continue
            if k in ("running_mean", "running_var"):
                continue                   # updated inside batch_norm's forward: replayed
            if k == "num_batches_tracked" and getattr(m, "momentum", 0.0) is not None:
                plan.counters.append((m._buffers, k))
                continue
            raise _NotCapturable(f"{type(m).__name__} changes its buffer '{k}' outside an op "
                                 "(BatchNorm with momentum=None)")
        plan.build(arg_pos)
        plan.flat, plan.calls = None, 0
        grad_outs = [ref for kind, ref in plan.outputs if kind == "op" and ref._requires_grad]
        plan.grad = bool(grad_outs)
        if grad_outs:
            plan.flat = build_backward(plan.nodes, grad_outs, arg_pos)
            if plan.flat is None:
                raise _NotCapturable("a tensor hook or retain_grad() is registered inside the "
                                     "function")
        return plan

    def _fallback(self, reason: str) -> None:
        self.fallback_reason = reason
        if reason not in self._warned:
            self._warned.add(reason)
            warnings.warn(f"lamina.compile: running eagerly: {reason}", RuntimeWarning,
                          stacklevel=3)


def compile(fn, *, modules=None, cache_size: int = 8):  # noqa: A001 - torch.compile's name
    """Capture ``fn``'s op schedule per input signature and replay it (see the module
    docstring for what is captured and when it falls back to eager).

    Args:
        fn: a :class:`~lamina.nn.Module` or a function of tensors returning a Tensor or a
            tuple/list of Tensors.
        modules: the modules ``fn`` calls, whose ``training`` flags and buffers enter the
            signature and whose hooks make calls eager (default: ``fn`` itself when it is a
            Module, else none; a function that uses a model should name it).
        cache_size: signatures kept (the oldest is dropped). Default 8.

    Returns:
        CompiledFunction: callable as ``fn``; ``loss.backward()`` on its outputs works as on
        eager ones.

    Example:
        >>> step_loss = lamina.compile(lambda x, y: F.cross_entropy(model(x), y),
        ...                            modules=[model])
        >>> loss = step_loss(xb, yb); loss.backward(); opt.step()
    """
    if modules is None:
        modules = [fn] if isinstance(fn, Module) else []
    for m in modules:
        if not isinstance(m, Module):
            raise TypeError(f"lamina.compile: modules must be Modules, got {type(m).__name__}")
    return CompiledFunction(fn, modules, cache_size)
