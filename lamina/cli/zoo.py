"""``lamina models``: what ``model.name`` accepts and the sample shape each model expects."""

from __future__ import annotations

__all__ = ["MODEL_INFO", "models_table"]

# name -> (sample shape without the batch dim, what it is, [model] keys it reads)
MODEL_INFO = {
    "small_cnn": ("(C, H, W)", "two 3x3 conv blocks + BN, max pool, 128-unit head",
                  "width, dropout"),
    "mlp": ("any (flattened)", "multi-layer perceptron",
            "hidden, activation, dropout, batch_norm"),
    "lenet5": ("(C, H, W)", "LeNet-5 (a 28x28 digit is padded to 32x32)",
               "activation, batch_norm"),
    "resnet": ("(C, H, W)", "small residual network", "depth, width"),
    "textcnn": ("(L,) token ids", "1-D convolutions over word embeddings", "-"),
    "gru_classifier": ("(T,), (C, T) or (T, F)", "GRU over time, last state -> classes",
                       "hidden_size, num_layers, bidirectional, dropout"),
    "lstm_classifier": ("(T,), (C, T) or (T, F)", "LSTM over time, last state -> classes",
                        "hidden_size, num_layers, bidirectional, dropout"),
    "cnn1d": ("(T,) or (C, T)", "1-D CNN classifier", "channels, batch_norm, dropout"),
    "forecaster": ("(T,) or (T, F)", "recurrent forecaster predicting data.horizon steps",
                   "hidden_size, num_layers, dropout"),
}


def models_table() -> list[str]:
    """Print ``lamina models``: every name ``model.name`` accepts with its input shape.

    Returns:
        list[str]: the model names, in printed order.
    """
    from .build import REFERENCE_MODELS
    names = list(REFERENCE_MODELS)
    print(f"{'model.name':<17}{'input (one sample)':<25}{'what':<52}keys")
    for n in names:
        shape, what, keys = MODEL_INFO.get(n, ("?", "", "-"))
        print(f"{n:<17}{shape:<25}{what:<52}{keys}")
    print("\nor give [[model.layers]] tables (see docs/config.md)")
    return names
