"""Ready-made models built from ``lamina.nn`` (one file per model family)."""

from .perceptron import Perceptron  # noqa: F401
from .mlp import MLP  # noqa: F401
from .lenet import LeNet5  # noqa: F401
from .resnet import BasicBlock, ResNet  # noqa: F401
from .sequence import CNN1DClassifier, Forecaster, GRUClassifier, LSTMClassifier  # noqa: F401
from .autoencoder import (Autoencoder, DenoisingAutoencoder, SparseAutoencoder,  # noqa: F401
                          gaussian_noise, masking_noise, reconstruction_step)
from .vae import VAE  # noqa: F401
from .gan import GAN, dcgan_digits, dcgan_mnist, mlp_gan, save_image_grid  # noqa: F401
from .som import SOM  # noqa: F401
from .text import BiLSTMClassifier, BiLSTMTagger, TextCNN  # noqa: F401
from .language import (CharLSTM, CharRNN, TinyTransformerClassifier,  # noqa: F401
                       TinyTransformerLM)
from .seq2seq import Seq2Seq  # noqa: F401
