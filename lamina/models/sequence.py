"""Sequence models: recurrent classifiers, a 1-D CNN classifier and a recurrent forecaster.

- :class:`GRUClassifier` / :class:`LSTMClassifier`: a batch-first GRU (Cho et al., "Learning
  phrase representations using RNN encoder-decoder", EMNLP 2014) or LSTM (Hochreiter &
  Schmidhuber, "Long short-term memory", Neural Computation 1997); the last valid step's hidden
  state (both directions when bidirectional) goes through a linear layer.
- :class:`CNN1DClassifier`: conv1d-BN-ReLU-maxpool blocks, global average pooling, a linear
  layer (the temporal CNN of e.g. Wang, Yan & Oates, "Time series classification from scratch
  with deep neural networks", IJCNN 2017).
- :class:`Forecaster`: a GRU or LSTM over a window of past values, then a linear layer giving
  the next ``horizon`` values at once (direct multi-step forecasting).

Parameter names are torch's (``rnn.weight_ih_l0``, ``fc.weight``, ``features.0.weight``), so
state dicts map 1:1 onto the same trees built from ``torch.nn``.
"""

from __future__ import annotations

from .. import functional as F
from ..errors import check
from ..nn.activation import ReLU
from ..nn.containers import Sequential
from ..nn.conv import Conv1d
from ..nn.layers import Dropout, Linear
from ..nn.module import Module
from ..nn.normalization import BatchNorm1d
from ..nn.pooling import MaxPool1d
from ..nn.recurrent import GRU, LSTM

__all__ = ["GRUClassifier", "LSTMClassifier", "CNN1DClassifier", "Forecaster",
           "sequence_layout"]


def sequence_layout(input_shape) -> tuple:
    """How a sample shape reads as a sequence: ``(features, channels_first)``.

    ``(T,)`` is T steps of one feature; a 2-D shape is ``(C, T)`` (channels first, as
    ``lamina.datasets.load('mnist1d', flatten=False)`` gives) when its first size is the smaller,
    else ``(T, F)`` (as forecasting windows ``(window, 1)``).

    Args:
        input_shape (tuple): one sample's shape, without the batch dimension.

    Returns:
        tuple: ``(n_features, channels_first)``.
    """
    s = tuple(input_shape)
    check(len(s) in (1, 2), "sequence_layout", "a sample shape (T,), (C, T) or (T, F)", f"{s}")
    if len(s) == 1:
        return 1, False
    return (s[0], True) if s[0] < s[1] else (s[1], False)


def _steps(x, channels_first: bool):
    """``(N, T)`` -> ``(N, T, 1)``; ``(N, C, T)`` -> ``(N, T, C)`` when channels first."""
    if x.ndim == 2:
        return F.unsqueeze(x, -1)
    return F.transpose(x, 1, 2) if channels_first else x


def _last_hidden(h_n, directions: int):
    """The top layer's final state, both directions concatenated: ``(N, D*H)``."""
    if directions == 1:
        return h_n[-1]
    return F.cat([h_n[-2], h_n[-1]], dim=-1)


class _RecurrentClassifier(Module):
    _rnn = GRU

    def __init__(self, input_size: int = 1, hidden_size: int = 64, num_classes: int = 10,
                 num_layers: int = 1, bidirectional: bool = False, dropout: float = 0.0,
                 channels_first: bool = False):
        super().__init__()
        self.channels_first = channels_first
        self.rnn = self._rnn(input_size, hidden_size, num_layers=num_layers, batch_first=True,
                             dropout=dropout, bidirectional=bidirectional)
        self.fc = Linear(hidden_size * (2 if bidirectional else 1), num_classes)

    def forward(self, x, lengths=None):
        _, h_n = self.rnn(_steps(x, self.channels_first), lengths=lengths)
        if isinstance(h_n, tuple):  # LSTM: (h_n, c_n)
            h_n = h_n[0]
        return self.fc(_last_hidden(h_n, 2 if self.rnn.bidirectional else 1))

    @classmethod
    def from_config(cls, input_shape, n_out: int, **opts):
        """Build for samples of ``input_shape`` (see :func:`sequence_layout`) and ``n_out``
        classes (the CLI's ``[model] name = "gru_classifier"``; options: hidden_size,
        num_layers, bidirectional, dropout)."""
        n_in, cf = sequence_layout(input_shape)
        return cls(input_size=n_in, num_classes=n_out, channels_first=cf, **opts)


class GRUClassifier(_RecurrentClassifier):
    """GRU over the sequence, linear layer on the last valid step (PyTorch's GRU variant).

    Args:
        input_size (int): features per step. Default 1.
        hidden_size (int): GRU width. Default 64.
        num_classes (int): outputs (logits). Default 10.
        num_layers (int): stacked layers. Default 1.
        bidirectional (bool): add a reverse direction. Default False.
        dropout (float): dropout between stacked layers. Default 0.
        channels_first (bool): 3-D inputs are ``(N, C, T)`` instead of ``(N, T, C)``.
            Default False.

    Forward:
        ``model(x, lengths=None)``: ``lengths`` (optional, one per sequence) marks the valid
        steps of padded sequences; the state at each sequence's last valid step is used.

    Shape:
        ``(N, T)``, ``(N, T, input_size)`` or, channels first, ``(N, input_size, T)``
        -> ``(N, num_classes)``.

    Example:
        >>> model = GRUClassifier(hidden_size=64, num_classes=10)
        >>> model(lamina.randn(8, 40)).shape
        (8, 10)
    """

    _rnn = GRU


class LSTMClassifier(_RecurrentClassifier):
    """LSTM over the sequence, linear layer on the last valid step's hidden state.

    Args, Forward, Shape: as :class:`GRUClassifier`.

    Example:
        >>> model = LSTMClassifier(hidden_size=64, num_classes=10)
        >>> model(lamina.randn(8, 40)).shape
        (8, 10)
    """

    _rnn = LSTM


class CNN1DClassifier(Module):
    """1-D CNN: per block ``Conv1d(k, 'same') -> [BatchNorm1d] -> ReLU -> MaxPool1d(2)``,
    then the mean over time, [dropout], and a linear layer.

    Args:
        in_channels (int): input channels. Default 1.
        num_classes (int): outputs (logits). Default 10.
        channels (sequence of int): output channels of each block. Default (32, 64, 64).
        kernel_size (int): odd kernel size. Default 5.
        batch_norm (bool): BatchNorm1d after each convolution (which then drops its bias).
            Default True.
        dropout (float): dropout before the linear layer; 0 adds no layer. Default 0.

    Shape:
        ``(N, T)`` or ``(N, in_channels, T)`` -> ``(N, num_classes)``; T >= 2**(blocks - 1).

    Example:
        >>> model = CNN1DClassifier(num_classes=10)
        >>> model(lamina.randn(8, 40)).shape
        (8, 10)
    """

    def __init__(self, in_channels: int = 1, num_classes: int = 10, channels=(32, 64, 64),
                 kernel_size: int = 5, batch_norm: bool = True, dropout: float = 0.0):
        super().__init__()
        check(kernel_size % 2 == 1, "CNN1DClassifier", "an odd kernel_size", repr(kernel_size))
        layers, cin = [], in_channels
        for i, c in enumerate(channels):
            layers.append(Conv1d(cin, c, kernel_size, padding=kernel_size // 2,
                                 bias=not batch_norm))
            if batch_norm:
                layers.append(BatchNorm1d(c))
            layers.append(ReLU())
            if i < len(channels) - 1:
                layers.append(MaxPool1d(2))
            cin = c
        self.features = Sequential(*layers)
        self.dropout = Dropout(dropout) if dropout > 0 else None
        self.fc = Linear(cin, num_classes)

    def forward(self, x):
        if x.ndim == 2:
            x = F.unsqueeze(x, 1)
        h = F.mean(self.features(x), dim=-1)
        if self.dropout is not None:
            h = self.dropout(h)
        return self.fc(h)

    @classmethod
    def from_config(cls, input_shape, n_out: int, **opts) -> "CNN1DClassifier":
        """Build for samples ``(T,)`` or ``(C, T)`` and ``n_out`` classes (options: channels,
        kernel_size, batch_norm, dropout)."""
        s = tuple(input_shape)
        check(len(s) in (1, 2), "CNN1DClassifier.from_config", "samples (T,) or (C, T)", f"{s}")
        if "channels" in opts:
            opts["channels"] = tuple(opts["channels"])
        return cls(in_channels=1 if len(s) == 1 else s[0], num_classes=n_out, **opts)


class Forecaster(Module):
    """Recurrent forecaster: a GRU or LSTM reads a window of past values; a linear layer maps
    its last hidden state to the next ``horizon`` values.

    Args:
        input_size (int): features per step. Default 1.
        hidden_size (int): recurrent width. Default 32.
        horizon (int): future steps predicted at once. Default 1.
        rnn (str): ``'gru'`` (default) or ``'lstm'``.
        num_layers (int): stacked layers. Default 1.
        dropout (float): dropout between stacked layers. Default 0.

    Shape:
        ``(N, T)`` or ``(N, T, input_size)`` -> ``(N, horizon)``.

    Example:
        >>> model = Forecaster(hidden_size=32, horizon=3)
        >>> model(lamina.randn(8, 11)).shape
        (8, 3)
    """

    def __init__(self, input_size: int = 1, hidden_size: int = 32, horizon: int = 1,
                 rnn: str = "gru", num_layers: int = 1, dropout: float = 0.0):
        super().__init__()
        check(rnn in ("gru", "lstm"), "Forecaster", "rnn 'gru' or 'lstm'", repr(rnn))
        check(horizon >= 1, "Forecaster", "horizon >= 1", repr(horizon))
        cls = GRU if rnn == "gru" else LSTM
        self.horizon = horizon
        self.rnn = cls(input_size, hidden_size, num_layers=num_layers, batch_first=True,
                       dropout=dropout)
        self.fc = Linear(hidden_size, horizon)

    def forward(self, x):
        _, h_n = self.rnn(_steps(x, False))
        if isinstance(h_n, tuple):
            h_n = h_n[0]
        return self.fc(h_n[-1])

    @classmethod
    def from_config(cls, input_shape, n_out: int, **opts) -> "Forecaster":
        """Build for windows ``(T,)`` or ``(T, F)`` predicting ``n_out`` steps (options:
        hidden_size, num_layers, dropout, rnn)."""
        s = tuple(input_shape)
        check(len(s) in (1, 2), "Forecaster.from_config", "windows (T,) or (T, F)", f"{s}")
        return cls(input_size=1 if len(s) == 1 else s[1], horizon=n_out, **opts)
