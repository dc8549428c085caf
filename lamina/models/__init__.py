"""Ready-made models built from ``lamina.nn`` (one file per model family)."""

from .perceptron import Perceptron  # noqa: F401
from .mlp import MLP  # noqa: F401
from .lenet import LeNet5  # noqa: F401
from .resnet import BasicBlock, ResNet  # noqa: F401
from .sequence import CNN1DClassifier, Forecaster, GRUClassifier, LSTMClassifier  # noqa: F401
