"""The captured backward schedule of :mod:`lamina.nn.compiled`.

A replayed call whose outputs need gradients returns handles on one node, a
:class:`CompiledBackward`, whose inputs are the tensors the trace read from outside (the
arguments and parameters that require grad). Its ``backward`` is generated straight-line code
that runs every recorded op's ``backward`` in reverse trace order, with the engine's own rules:
broadcast gradients summed back (``sum_to``), dtypes cast, a missing output gradient of a
multi-output op filled with zeros. The engine then accumulates the node's input gradients
into ``.grad`` as usual, so leaf hooks, post-accumulate hooks and ``retain_graph`` behave as
eagerly.

Ops run by decreasing generation, as in the engine, so every tensor's gradient contributions
are added in the engine's order and the results are bit-identical to eager backward. One case
is not: three or more contributions to one tensor from ops of the same generation (the
engine orders those by when it scheduled them; two contributions commute), which are added
in reverse trace order, equal to eager within rounding (``exact`` is False). Once in-place
ops exist, each op checks the versions of what it saved, as the engine does.

A replay reuses the recorded graph, so only the latest call's outputs can backward: an
earlier call's output raises instead of silently using the newer call's saved arrays.
"""

from __future__ import annotations

from .. import backend as B
from ..autograd.engine import sum_to
from ..autograd.function import Function
from ..autograd.inplace import check_versions
from ..autograd.tensor import INPLACE_USED, Tensor

__all__ = ["CompiledBackward", "build_backward"]

_np = B.np


def _dead():
    return None


class CompiledBackward(Function):
    """One node standing for a replayed call's whole recorded graph (see the module
    docstring). Attributes set per call: ``inputs``, ``needs_input_grad``, ``generation``,
    ``nout``, ``outputs`` and ``run`` (the generated backward)."""

    def backward(self, *gys):
        if self.plan.calls != self.call:
            raise RuntimeError(
                "backward: this output of a lamina.compile function came from an earlier call; "
                "the function was called again since, and a replay reuses the recorded graph. "
                "Call backward() before the next call (as a training step does)")
        return self.run(gys)


def build_backward(nodes, grad_outputs, arg_pos):
    """Generate the backward of a traced schedule, or return None when it is not eligible.

    Args:
        nodes: the tracer's node records ``[fn, template, slots, outs, multi, inputs]``.
        grad_outputs: the traced output Tensors that require grad, in handle order.
        arg_pos: ``id(tensor) -> argument index`` of the call's tensor arguments.

    Returns:
        ``(run, targets, exact)``: ``run(gys) -> tuple`` of gradients for ``targets``, a list
        of ``("arg", index)`` / ``("ext", tensor)`` entries (the node's inputs); ``exact`` is
        False when the engine's summation order cannot be reproduced. None when hooks or
        ``retain_grad`` sit on traced tensors.
    """
    produced = {}
    for k, node in enumerate(nodes):
        for o in node[3]:
            produced[id(o)] = k
    if len({id(o) for o in grad_outputs}) != len(grad_outputs):
        return None
    counts: dict = {id(o): 1 for o in grad_outputs}
    consumers: dict = {}       # id(tensor) -> {node index: generation}
    targets, target_idx = [], {}
    for k, node in enumerate(nodes):
        fn, inputs = node[0], node[5]
        if "inputs" not in fn.__dict__:
            continue
        for x, need in zip(inputs, fn.needs_input_grad):
            if not need or not isinstance(x, Tensor):
                continue
            counts[id(x)] = counts.get(id(x), 0) + 1
            consumers.setdefault(id(x), {})[k] = fn.generation
            if id(x) not in produced and id(x) not in target_idx:
                target_idx[id(x)] = len(targets)
                j = arg_pos.get(id(x))
                targets.append(("arg", j) if j is not None else ("ext", x))
    exact = True
    for key, c in counts.items():
        gens = list(consumers.get(key, {}).values())
        if c > 2 and len(set(gens)) != len(gens):
            exact = False      # 3+ contributions from ops of one generation (see above)
    # the engine runs ops by decreasing generation, so a tensor's contributions are added in
    # that order; two contributions commute, so ties among them do not matter
    order = sorted((k for k in range(len(nodes)) if "inputs" in nodes[k][0].__dict__),
                   key=lambda k: (-nodes[k][0].generation, -k))
    for node in nodes:
        for o in node[3]:
            if o._hooks or getattr(o, "_retain", False):
                return None

    ns = {"_sum_to": sum_to, "_zeros": _np.zeros_like, "_V": INPLACE_USED,
          "_check": check_versions}
    slot = {}

    def var(t):
        j = target_idx.get(id(t))
        if j is not None:
            return f"T{j}"
        v = slot.get(id(t))
        if v is None:
            v = slot[id(t)] = f"g{len(slot)}"
        return v

    body = []
    for i, o in enumerate(grad_outputs):
        body.append(f"    {var(o)} = gys[{i}]")
    for k in order:
        fn, _, _, outs, multi, inputs = nodes[k]
        ns[f"f{k}"] = fn
        if multi:
            gl = ", ".join(var(o) for o in outs)
            body.append(f"    gl = [{gl}]")
            body.append("    if gl.count(None) != len(gl):")
            body.append(f"        if _V[0]: _check(f{k})")
            for j, o in enumerate(outs):
                ns[f"o{k}_{j}"] = o
                body.append(f"        if gl[{j}] is None: gl[{j}] = _zeros(o{k}_{j}.array)")
            body.append(f"        r = f{k}.backward(*gl)")
        else:
            body.append(f"    if {var(outs[0])} is not None:")
            body.append(f"        if _V[0]: _check(f{k})")
            body.append(f"        r = f{k}.backward({var(outs[0])})")
        body.append("        if r.__class__ is not tuple: r = (r,)")
        for pos, (x, need) in enumerate(zip(inputs, fn.needs_input_grad)):
            if not need or not isinstance(x, Tensor):
                continue
            ns[f"s{k}_{pos}"], ns[f"d{k}_{pos}"] = x.array.shape, x.array.dtype
            v = var(x)
            body += [f"        a = r[{pos}]",
                     "        if a is not None:",
                     f"            if a.shape != s{k}_{pos}: a = _sum_to(a, s{k}_{pos})",
                     f"            if a.dtype != d{k}_{pos}: a = a.astype(d{k}_{pos})",
                     f"            {v} = a if {v} is None else {v} + a"]
    init = [f"    {v} = None" for v in list(slot.values()) +
            [f"T{j}" for j in range(len(targets))]]
    ret = ", ".join(f"T{j}" for j in range(len(targets)))
    src = "\n".join(["def run(gys):"] + init + body + [f"    return ({ret},)"])
    exec(src, ns)   # noqa: S102 - generated from the trace, no user text
    return ns["run"], targets, exact


def attach(run, targets, args, handles, plan):
    """A fresh :class:`CompiledBackward` node for one replayed call of ``plan``; ``handles``
    (the output Tensors that require grad) become its outputs."""
    node = object.__new__(CompiledBackward)
    node.plan, node.call = plan, plan.calls
    ins = tuple(args[k] if kind == "arg" else k for kind, k in targets)
    node.inputs = ins
    node.needs_input_grad = (True,) * len(ins)
    gen = 0
    for x in ins:
        c = x._creator
        if c is not None and c.generation >= gen:
            gen = c.generation + 1
    node.generation = gen
    node.nout = len(handles)
    node.outputs = (_dead,) * len(handles)
    node.saved = ()
    node.run = run
    for i, h in enumerate(handles):
        h._requires_grad = True
        h._creator = node
        h._out_idx = i
    return node
