"""Recurrent layers ``RNN``, ``LSTM``, ``GRU`` (seed Q26–Q28) and their one-step cells.

Each layer-direction runs as one fused op (:func:`lamina.functional.rnn_layer`): one GEMM for
the input projection of all steps, one gate GEMM per step, backward-through-time in the same op.
Parameter names, shapes, gate orders and initialisation are PyTorch's, so
``model.load_state_dict({k: v.numpy() for k, v in torch_model.state_dict().items()})`` works.
GRU uses PyTorch's variant: ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``.
"""

from __future__ import annotations

import math

from .. import backend as B
from .. import functional as F
from ..errors import check
from . import init as _init
from .module import Module, Parameter

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"lstm": 4, "gru": 3, "rnn_tanh": 1, "rnn_relu": 1}


def _param(shape, dtype):
    return Parameter(B.np.zeros(shape, dtype=B.get_default_dtype() if dtype is None else dtype))


class RNNBase(Module):
    """Shared machinery of :class:`RNN`, :class:`LSTM` and :class:`GRU`.

    Args:
        mode (str): ``"lstm"``, ``"gru"``, ``"rnn_tanh"`` or ``"rnn_relu"``.
        input_size (int): features per step ``I``.
        hidden_size (int): hidden features ``H``.
        num_layers (int): stacked layers. Default 1.
        bias (bool): use ``bias_ih``/``bias_hh``. Default True.
        batch_first (bool): input/output ``(N, T, .)`` instead of ``(T, N, .)``. Default False.
        dropout (float): dropout on the outputs of every layer but the last (training only).
            Default 0.
        bidirectional (bool): add a reverse direction; outputs concatenate both. Default False.
        dtype: parameter dtype. Default: the default dtype (float32).

    Parameters (PyTorch's names, ``k`` = layer, ``_reverse`` suffix for the reverse direction):
        ``weight_ih_l{k}`` ``(G*H, I or D*H)``, ``weight_hh_l{k}`` ``(G*H, H)``,
        ``bias_ih_l{k}``, ``bias_hh_l{k}`` ``(G*H,)``; G = 4 (LSTM: i,f,g,o), 3 (GRU: r,z,n),
        1 (RNN); all drawn from ``U(-1/sqrt(H), 1/sqrt(H))``.
    """

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, dtype=None):
        super().__init__()
        name = type(self).__name__
        check(mode in _GATES, name, f"mode in {sorted(_GATES)}", repr(mode))
        check(input_size > 0 and hidden_size > 0 and num_layers >= 1, name,
              "input_size > 0, hidden_size > 0, num_layers >= 1",
              f"{input_size}, {hidden_size}, {num_layers}")
        check(0.0 <= dropout <= 1.0, name, "dropout in [0, 1]", f"dropout={dropout}",
              cls=ValueError)
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional = float(dropout), bidirectional
        G, D = _GATES[mode], 2 if bidirectional else 1
        self._names = []
        for layer in range(num_layers):
            in_size = input_size if layer == 0 else hidden_size * D
            for d in range(D):
                sfx = f"_l{layer}" + ("_reverse" if d else "")
                names = [f"weight_ih{sfx}", f"weight_hh{sfx}"]
                setattr(self, names[0], _param((G * hidden_size, in_size), dtype))
                setattr(self, names[1], _param((G * hidden_size, hidden_size), dtype))
                if bias:
                    names += [f"bias_ih{sfx}", f"bias_hh{sfx}"]
                    setattr(self, names[2], _param((G * hidden_size,), dtype))
                    setattr(self, names[3], _param((G * hidden_size,), dtype))
                self._names.append(names)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Draw every weight and bias from ``U(-1/sqrt(H), 1/sqrt(H))`` (PyTorch's init)."""
        k = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            _init.uniform_(p, -k, k)

    def flatten_parameters(self) -> None:
        """No-op (PyTorch/cuDNN compatibility)."""

    def forward(self, input, hx=None, lengths=None, mask=None):
        """Run the stacked layers over a sequence.

        Args:
            input (Tensor): ``(T, N, I)`` (``(N, T, I)`` with ``batch_first``) or unbatched
                ``(T, I)``.
            hx: initial state ``(L*D, N, H)`` (zeros when None); for LSTM a tuple ``(h0, c0)``.
            lengths (sequence of int, optional): valid length of each sequence (any order);
                padded steps leave the state unchanged, output zeros and get no gradient (as
                PyTorch's ``pack_padded_sequence``/``pad_packed_sequence``, except that the
                output keeps all ``T`` steps).
            mask (array of bool, optional): ``(T, N)`` (``(N, T)`` with ``batch_first``), True
                = a real step; an alternative to ``lengths``.

        Returns:
            tuple: ``(output, h_n)`` or, for LSTM, ``(output, (h_n, c_n))``; output
            ``(T, N, D*H)`` (``(N, T, D*H)`` with ``batch_first``), ``h_n``/``c_n``
            ``(L*D, N, H)`` holding each sequence's state at its last valid step.
        """
        name = type(self).__name__
        lstm = self.mode == "lstm"
        batched = input.ndim == 3
        check(input.ndim in (2, 3), name, "a 2-D (unbatched) or 3-D input",
              f"shape {tuple(input.shape)}")
        check(input.shape[-1] == self.input_size, name, f"input.shape[-1] == {self.input_size} "
              "(input_size)", f"input of shape {tuple(input.shape)}")
        bf = self.batch_first and batched
        h0 = c0 = None
        if hx is not None:
            if lstm:
                check(isinstance(hx, (tuple, list)) and len(hx) == 2, name,
                      "hx = (h0, c0) for LSTM", f"{type(hx).__name__}")
                h0, c0 = hx
            else:
                h0 = hx
        if not batched:
            input = F.unsqueeze(input, 1)
            h0 = None if h0 is None else F.unsqueeze(h0, 1)
            c0 = None if c0 is None else F.unsqueeze(c0, 1)
        D = 2 if self.bidirectional else 1
        N = input.shape[0 if bf else 1]
        want = (self.num_layers * D, N, self.hidden_size)
        for s in (h0, c0):
            check(s is None or tuple(s.shape) == want, name, f"initial states of shape {want}",
                  f"{tuple(s.shape) if s is not None else None}")
        h0s = [None] * len(self._names) if h0 is None else F.unbind(h0, 0)
        c0s = [None] * len(self._names) if c0 is None else F.unbind(c0, 0)
        x, h_n, c_n = input, [], []
        for layer in range(self.num_layers):
            ys = []
            for d in range(D):
                idx = layer * D + d
                ps = [getattr(self, n) for n in self._names[idx]]
                w_ih, w_hh = ps[0], ps[1]
                b_ih, b_hh = (ps[2], ps[3]) if self.bias else (None, None)
                out = F.rnn_layer(x, w_ih, w_hh, b_ih, b_hh, h0s[idx], c0s[idx] if lstm else None,
                                  mode=self.mode, lengths=lengths, mask=mask, reverse=d == 1,
                                  batch_first=bf)
                ys.append(out[0])
                h_n.append(out[1])
                if lstm:
                    c_n.append(out[2])
            x = ys[0] if D == 1 else F.cat(ys, dim=-1)
            if self.dropout > 0 and self.training and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, training=True)
        h_n = F.stack(h_n, 0)
        c_n = F.stack(c_n, 0) if lstm else None
        if not batched:
            x, h_n = F.squeeze(x, 1), F.squeeze(h_n, 1)
            c_n = F.squeeze(c_n, 1) if lstm else None
        return (x, (h_n, c_n)) if lstm else (x, h_n)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.mode == "rnn_relu":
            s += ", nonlinearity='relu'"
        for k, default in (("bias", True), ("batch_first", False), ("dropout", 0.0),
                           ("bidirectional", False)):
            if getattr(self, k) != default:
                s += f", {k}={getattr(self, k)}"
        return s


class RNN(RNNBase):
    """Elman RNN: ``h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)`` (seed Q26).

    Args:
        input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, dtype:
            see :class:`RNNBase`.
        nonlinearity (str): ``"tanh"`` (default) or ``"relu"``.

    Shape:
        input ``(T, N, I)`` -> output ``(T, N, D*H)``, h_n ``(L*D, N, H)``.

    Example:
        >>> rnn = nn.RNN(3, 8, num_layers=2)
        >>> out, h_n = rnn(lamina.randn(5, 4, 3))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, dtype=None):
        check(nonlinearity in ("tanh", "relu"), "RNN", "nonlinearity 'tanh' or 'relu'",
              repr(nonlinearity), cls=ValueError)
        super().__init__("rnn_" + nonlinearity, input_size, hidden_size, num_layers, bias,
                         batch_first, dropout, bidirectional, dtype)
        self.nonlinearity = nonlinearity


class LSTM(RNNBase):
    """Long short-term memory (seed Q27), gates ``(i, f, g, o)`` as PyTorch:
    ``c_t = f*c_{t-1} + i*g``, ``h_t = o*tanh(c_t)``.

    Args: see :class:`RNNBase` (``proj_size`` is not supported).

    Shape:
        input ``(T, N, I)`` -> output ``(T, N, D*H)``, ``(h_n, c_n)`` each ``(L*D, N, H)``.

    Example:
        >>> lstm = nn.LSTM(32, 128, batch_first=True)
        >>> out, (h_n, c_n) = lstm(lamina.randn(64, 50, 32), lengths=lengths)
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, dtype=None):
        super().__init__("lstm", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, dtype)


class GRU(RNNBase):
    """Gated recurrent unit (seed Q28), PyTorch's variant with gates ``(r, z, n)``:
    ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``, ``h_t = (1 - z)*n + z*h_{t-1}``.

    Args: see :class:`RNNBase`.

    Shape:
        input ``(T, N, I)`` -> output ``(T, N, D*H)``, h_n ``(L*D, N, H)``.

    Example:
        >>> gru = nn.GRU(10, 20, bidirectional=True)
        >>> out, h_n = gru(lamina.randn(7, 3, 10))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, dtype=None):
        super().__init__("gru", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, dtype)


class RNNCellBase(Module):
    """One time step; parameters ``weight_ih`` ``(G*H, I)``, ``weight_hh`` ``(G*H, H)``,
    ``bias_ih``, ``bias_hh`` ``(G*H,)`` (PyTorch's names), init ``U(-1/sqrt(H), 1/sqrt(H))``.

    Cells compose with ordinary autograd ops, so a Python loop over steps builds any custom
    recurrence (one graph node per step; backward is iterative, so thousands of steps work).
    """

    def __init__(self, mode, input_size, hidden_size, bias=True, dtype=None):
        super().__init__()
        self.mode, self.input_size, self.hidden_size, self.bias = (mode, input_size,
                                                                   hidden_size, bias)
        G = _GATES[mode]
        self.weight_ih = _param((G * hidden_size, input_size), dtype)
        self.weight_hh = _param((G * hidden_size, hidden_size), dtype)
        if bias:
            self.bias_ih = _param((G * hidden_size,), dtype)
            self.bias_hh = _param((G * hidden_size,), dtype)
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        k = 1.0 / math.sqrt(hidden_size)
        for p in self.parameters():
            _init.uniform_(p, -k, k)

    def _step(self, fn, input, h, c=None):
        name = type(self).__name__
        check(input.ndim in (1, 2) and input.shape[-1] == self.input_size, name,
              f"input (N, {self.input_size}) or ({self.input_size},)",
              f"shape {tuple(input.shape)}")
        if input.ndim == 1:
            input = F.unsqueeze(input, 0)
            h = None if h is None else F.unsqueeze(h, 0)
            c = None if c is None else F.unsqueeze(c, 0)
            out = self._step(fn, input, h, c)
            return tuple(F.squeeze(o, 0) for o in out) if isinstance(out, tuple) \
                else F.squeeze(out, 0)
        args = (self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        if self.mode == "lstm":
            return fn(input, None if h is None else (h, c), *args)
        return fn(input, h, *args)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if self.mode == "rnn_relu":
            s += ", nonlinearity='relu'"
        return s


class RNNCell(RNNCellBase):
    """``h' = act(W_ih x + b_ih + W_hh h + b_hh)``, act ``"tanh"`` (default) or ``"relu"``.

    Args:
        input_size (int): features of ``x``.
        hidden_size (int): features of ``h``.
        bias (bool): Default True.
        nonlinearity (str): ``"tanh"`` (default) or ``"relu"``.
        dtype: parameter dtype.

    Shape:
        input ``(N, I)`` or ``(I,)``, hx ``(N, H)`` (zeros when None) -> ``(N, H)``.
    """

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", dtype=None):
        check(nonlinearity in ("tanh", "relu"), "RNNCell", "nonlinearity 'tanh' or 'relu'",
              repr(nonlinearity), cls=ValueError)
        super().__init__("rnn_" + nonlinearity, input_size, hidden_size, bias, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        fn = F.rnn_relu_cell if self.nonlinearity == "relu" else F.rnn_tanh_cell
        return self._step(fn, input, hx)


class LSTMCell(RNNCellBase):
    """One LSTM step, gates ``(i, f, g, o)``.

    Args:
        input_size (int): features of ``x``.
        hidden_size (int): features of ``h``.
        bias (bool): Default True.
        dtype: parameter dtype.

    Shape:
        input ``(N, I)`` or ``(I,)``, hx ``(h, c)`` each ``(N, H)`` (zeros when None) ->
        ``(h', c')``.

    Example:
        >>> cell = nn.LSTMCell(3, 8)
        >>> h, c = cell(lamina.randn(2, 3))
        >>> h, c = cell(lamina.randn(2, 3), (h, c))
    """

    def __init__(self, input_size, hidden_size, bias=True, dtype=None):
        super().__init__("lstm", input_size, hidden_size, bias, dtype)

    def forward(self, input, hx=None):
        h, c = (None, None) if hx is None else hx
        return self._step(F.lstm_cell, input, h, c)


class GRUCell(RNNCellBase):
    """One GRU step (PyTorch's variant: ``n = tanh(W_in x + b_in + r*(W_hn h + b_hn))``).

    Args:
        input_size (int): features of ``x``.
        hidden_size (int): features of ``h``.
        bias (bool): Default True.
        dtype: parameter dtype.

    Shape:
        input ``(N, I)`` or ``(I,)``, hx ``(N, H)`` (zeros when None) -> ``(N, H)``.
    """

    def __init__(self, input_size, hidden_size, bias=True, dtype=None):
        super().__init__("gru", input_size, hidden_size, bias, dtype)

    def forward(self, input, hx=None):
        return self._step(F.gru_cell, input, hx)
