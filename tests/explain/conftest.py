"""Fixtures of the explain tests (helpers in explain_twins.py)."""

import numpy as np
import pytest

import lamina
from explain_twins import lamina_cnn, torch_twin, train
from lamina import nn


@pytest.fixture
def cnn_pair():
    lamina.manual_seed(0)
    model = lamina_cnn().double().eval()
    x = np.random.default_rng(0).standard_normal((4, 1, 8, 8))
    return model, torch_twin(model), x


@pytest.fixture(scope="session")
def digits_cnn():
    from lamina import datasets
    d = datasets.load("digits")
    lamina.manual_seed(0)
    model = train(lamina_cnn(), d.x_train.astype(np.float32), d.y_train, epochs=12)
    return model, d


@pytest.fixture(scope="session")
def cancer_mlp():
    from lamina import datasets
    d = datasets.load("breast_cancer")
    lamina.manual_seed(0)
    model = nn.Sequential(nn.Linear(30, 32), nn.ReLU(), nn.Linear(32, 2))
    model = train(model, d.x_train.astype(np.float32), d.y_train, epochs=30, lr=1e-3)
    return model, d
