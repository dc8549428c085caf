"""A text classifier explained at its embedding layer: LayerIntegratedGradients puts the
largest attributions on the sentiment words, and is complete."""

import numpy as np

import lamina
from lamina import nn
from lamina.explain import LayerIntegratedGradients

NEUTRAL = ["the", "movie", "was", "a", "plot", "and", "actor", "film", "it", "very"]
POS, NEG = ["great", "superb", "lovely"], ["awful", "boring", "dull"]
VOCAB = ["<pad>"] + NEUTRAL + POS + NEG


class BagOfEmbeddings(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(len(VOCAB), 8)
        self.fc = nn.Linear(8, 2)

    def forward(self, tokens):
        return self.fc(self.embedding(tokens).tanh().mean(1))


def _data(rng, n):
    toks = rng.integers(1, 1 + len(NEUTRAL), (n, 8))
    y = rng.integers(0, 2, n)
    slot = rng.integers(0, 8, n)
    words = np.where(y == 1, rng.integers(0, 3, n) + 1 + len(NEUTRAL),
                     rng.integers(0, 3, n) + 1 + len(NEUTRAL) + 3)
    toks[np.arange(n), slot] = words
    return toks, y, slot


def test_layer_ig_highlights_sentiment_words():
    from explain_twins import train
    rng = np.random.default_rng(0)
    x, y, _ = _data(rng, 600)
    lamina.manual_seed(0)
    model = train(BagOfEmbeddings(), x, y, epochs=15, lr=2e-2)
    xt, yt, slot = _data(rng, 40)
    lig = LayerIntegratedGradients(model, model.embedding)
    attr, delta = lig.attribute(xt, baselines=0, target=yt, n_steps=32,
                                return_convergence_delta=True)
    assert attr.shape == (40, 8, 8)
    per_token = attr.numpy().sum(-1)
    assert (per_token.argmax(1) == slot).mean() >= 0.9
    change = per_token.sum(1) - delta
    assert np.abs(delta).sum() <= 1e-2 * np.abs(change).sum()
