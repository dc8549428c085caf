"""Turn a validated config into objects: model (with shape inference), optimizer, schedule.

A ``[[model.layers]]`` list is built one layer at a time on a dummy batch, so sizes such as a
Linear's ``in_features`` or a BatchNorm's ``num_features`` are inferred from the previous layer,
and a size the user gave that cannot fit is reported with the layer's index and type.
"""

from __future__ import annotations

import inspect

from .. import nn, optim
from ..autograd import no_grad, zeros
from ..errors import ShapeError
from .config import ConfigError

__all__ = ["build_model", "build_optimizer", "build_scheduler", "LAYER_TYPES",
           "REFERENCE_MODELS"]


class LastStep(nn.Module):
    """Wraps a batch-first recurrent layer and keeps the last time step's output."""

    def __init__(self, rnn: nn.Module):
        super().__init__()
        self.rnn = rnn

    def forward(self, x):
        out = self.rnn(x)[0]
        return out[:, -1]


def _rnn(cls):
    def make(input_size, hidden_size=64, num_layers=1, bidirectional=False, dropout=0.0,
             output="last"):
        layer = cls(input_size, hidden_size, num_layers=num_layers, batch_first=True,
                    bidirectional=bidirectional, dropout=dropout)
        if output not in ("last", "sequence"):
            raise ConfigError(f"config: recurrent output must be 'last' or 'sequence', got "
                              f"{output!r}")
        return LastStep(layer) if output == "last" else _Seq(layer)
    make.infer = ("input_size", -1)
    return make


class _Seq(nn.Module):
    def __init__(self, rnn):
        super().__init__()
        self.rnn = rnn

    def forward(self, x):
        return self.rnn(x)[0]


def _layer_types() -> dict:
    """type name -> (constructor, (argument inferred from the input, input axis))."""
    t = {
        "linear": (nn.Linear, ("in_features", -1)),
        "batchnorm1d": (nn.BatchNorm1d, ("num_features", 1)),
        "batchnorm2d": (nn.BatchNorm2d, ("num_features", 1)),
        "layernorm": (nn.LayerNorm, ("normalized_shape", -1)),
        "dropout": (nn.Dropout, None), "dropout2d": (nn.Dropout2d, None),
        "flatten": (nn.Flatten, None), "identity": (nn.Identity, None),
    }
    for name in ("ReLU", "Sigmoid", "Tanh", "LeakyReLU", "ELU", "SELU", "GELU", "SiLU",
                 "Softplus", "Mish", "Hardswish", "Hardsigmoid", "Softmax", "LogSoftmax",
                 "PReLU"):
        if hasattr(nn, name):
            t[name.lower()] = (getattr(nn, name), None)
    for name, axis in (("Conv1d", 1), ("Conv2d", 1), ("ConvTranspose2d", 1)):
        if hasattr(nn, name):
            t[name.lower()] = (getattr(nn, name), ("in_channels", axis))
    for name in ("MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d", "AdaptiveAvgPool2d",
                 "GlobalAvgPool2d", "GlobalMaxPool2d", "LPPool2d", "Upsample"):
        if hasattr(nn, name):
            t[name.lower()] = (getattr(nn, name), None)
    for name in ("LSTM", "GRU", "RNN"):
        if hasattr(nn, name):
            make = _rnn(getattr(nn, name))
            t[name.lower()] = (make, make.infer)
    if hasattr(nn, "Embedding"):
        t["embedding"] = (nn.Embedding, None)
    return t


LAYER_TYPES = _layer_types()


def _construct(i: int, spec: dict, shape: tuple):
    spec = dict(spec)
    kind = spec.pop("type").lower()
    types = LAYER_TYPES if LAYER_TYPES else _layer_types()
    if kind not in types:
        raise ConfigError(f"config: model.layers[{i}].type {kind!r} is unknown; valid types: "
                          f"{', '.join(sorted(types))}")
    ctor, infer = types[kind]
    if infer is not None and infer[0] not in spec:
        spec[infer[0]] = shape[infer[1]]
    try:
        params = inspect.signature(ctor).parameters
    except (TypeError, ValueError):  # no introspectable signature: let the call decide
        params = {}
    if params and not any(p.kind == p.VAR_KEYWORD for p in params.values()):
        for k in spec:
            if k not in params:
                raise ConfigError(f"config: model.layers[{i}] ({kind}) has no option {k!r}; "
                                  f"valid options: {', '.join(params)}")
    try:
        return ctor(**spec), kind
    except ConfigError:
        raise
    except (TypeError, ValueError) as e:
        raise ConfigError(f"config: model.layers[{i}] ({kind}): {e}") from None


def build_from_layers(layers: list, input_shape: tuple) -> nn.Sequential:
    """Build a Sequential layer by layer, inferring input sizes on a (1, *input_shape) batch."""
    mods = []
    x = zeros(1, *input_shape)
    with no_grad():
        for i, spec in enumerate(layers):
            layer, kind = _construct(i, spec, tuple(x.shape))
            layer.eval()
            try:
                x = layer(x)
            except (ShapeError, ValueError, TypeError) as e:
                raise ConfigError(
                    f"config: model.layers[{i}] ({kind}) cannot take the previous layer's "
                    f"output of shape {tuple(x.shape)}: {e}") from None
            mods.append(layer)
    model = nn.Sequential(*mods)
    model.train()
    return model


def _small_cnn(input_shape, n_out, m):
    """Two 3x3 conv blocks with batch norm, one 2x2 max pool, a 128-unit head."""
    w = m.get("width", 32)
    layers = [
        {"type": "conv2d", "out_channels": w, "kernel_size": 3, "padding": 1},
        {"type": "batchnorm2d"}, {"type": "relu"},
        {"type": "conv2d", "out_channels": 2 * w, "kernel_size": 3, "padding": 1},
        {"type": "batchnorm2d"}, {"type": "relu"},
        {"type": "maxpool2d", "kernel_size": 2},
        {"type": "flatten"}, {"type": "dropout", "p": m.get("dropout", 0.3)},
        {"type": "linear", "out_features": 128}, {"type": "relu"},
        {"type": "linear", "out_features": n_out},
    ]
    return build_from_layers(layers, input_shape)


def _mlp(input_shape, n_out, m):
    from ..models import MLP
    n_in = 1
    for s in input_shape:
        n_in *= s
    body = MLP(n_in, tuple(m.get("hidden", (256, 128))), n_out,
               activation=m.get("activation", "relu"), dropout=m.get("dropout", 0.0),
               batch_norm=m.get("batch_norm", False))
    return nn.Sequential(nn.Flatten(), body) if len(input_shape) > 1 else body


def _zoo(name):
    def make(input_shape, n_out, m):
        from .. import models
        cls = getattr(models, name, None)
        if cls is None:
            raise ConfigError(f"config: model {name!r} is not available in this build")
        opts = {k: v for k, v in m.items() if k != "name"}
        try:
            return cls.from_config(input_shape, n_out, **opts) if hasattr(cls, "from_config") \
                else cls(num_classes=n_out, **opts)
        except TypeError as e:
            raise ConfigError(f"config: model {name}: {e}") from None
    return make


REFERENCE_MODELS = {"small_cnn": _small_cnn, "mlp": _mlp, "lenet5": _zoo("LeNet5"),
                    "resnet": _zoo("ResNet"), "textcnn": _zoo("TextCNN"),
                    "gru_classifier": _zoo("GRUClassifier"),
                    "lstm_classifier": _zoo("LSTMClassifier"),
                    "cnn1d": _zoo("CNN1DClassifier"), "forecaster": _zoo("Forecaster")}


def build_model(mcfg: dict, input_shape: tuple, n_out: int) -> nn.Module:
    """The model described by ``[model]`` for inputs of ``input_shape`` (no batch dim)."""
    if "layers" in mcfg:
        return build_from_layers([dict(x) for x in mcfg["layers"]], input_shape)
    name = mcfg["name"]
    if name not in REFERENCE_MODELS:
        raise ConfigError(f"config: model.name {name!r} is unknown; choose from "
                          f"{', '.join(sorted(REFERENCE_MODELS))} or give [[model.layers]]")
    try:
        model = REFERENCE_MODELS[name](input_shape, n_out, mcfg)
        model.eval()
        with no_grad():  # a model that cannot take this data fails here, not mid-training
            model(zeros(2, *input_shape))
    except ConfigError:
        raise
    except (ShapeError, ValueError, TypeError, IndexError) as e:
        raise ConfigError(f"config: model.name {name!r} cannot take inputs of shape "
                          f"{tuple(input_shape)}: {str(e).splitlines()[0]}; choose another "
                          "model (e.g. small_cnn or mlp) or give [[model.layers]]") from None
    model.train()
    return model


def build_optimizer(ocfg: dict, params):
    """``[optim]`` -> a lamina.optim optimizer."""
    o = dict(ocfg)
    name = o.pop("name", "adam")
    cls = {"sgd": optim.SGD, "adam": optim.Adam, "adamw": optim.AdamW,
           "rmsprop": optim.RMSprop, "adagrad": optim.Adagrad, "adadelta": optim.Adadelta,
           "nadam": optim.NAdam}[name]
    if "betas" in o:
        o["betas"] = tuple(o["betas"])
    try:
        return cls(params, **o)
    except TypeError as e:
        raise ConfigError(f"config: [optim] {name}: {e}") from None


def build_scheduler(scfg: dict, opt, epochs: int, steps_per_epoch: int):
    """``[schedule]`` -> ``(scheduler or None, per_batch: bool)``."""
    s = dict(scfg)
    name = s.pop("name", "none")
    S = optim.lr_scheduler
    lr = opt.param_groups[0]["lr"]
    if name == "none":
        return None, False
    if name == "onecycle":
        return S.OneCycleLR(opt, max_lr=s.get("max_lr", lr), epochs=epochs,
                            steps_per_epoch=steps_per_epoch), True
    if name == "step":
        return S.StepLR(opt, step_size=s.get("step_size", 10), gamma=s.get("gamma", 0.1)), False
    if name == "multistep":
        return S.MultiStepLR(opt, milestones=s.get("milestones", [epochs // 2]),
                             gamma=s.get("gamma", 0.1)), False
    if name == "exponential":
        return S.ExponentialLR(opt, gamma=s.get("gamma", 0.95)), False
    if name == "cosine":
        return S.CosineAnnealingLR(opt, T_max=s.get("t_max", epochs),
                                   eta_min=s.get("eta_min", 0.0)), False
    if name == "plateau":
        return S.ReduceLROnPlateau(opt, factor=s.get("factor", 0.1),
                                   patience=s.get("patience", 5)), False
    if name == "warmup_cosine":
        w = s.get("warmup_epochs", 2)
        warm = S.LinearLR(opt, start_factor=0.1, total_iters=w)
        cos = S.CosineAnnealingLR(opt, T_max=max(1, epochs - w), eta_min=s.get("eta_min", 0.0))
        return S.SequentialLR(opt, [warm, cos], milestones=[w]), False
    raise ConfigError(f"config: schedule.name {name!r} is unknown")
