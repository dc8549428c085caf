"""Datasets, loaders, samplers, transforms and model selection (seeds Q14, Q32, Q42, Q49).

Layer: imports only ``backend``, ``autograd``, ``functional`` and ``errors``.

Example:
    >>> from lamina.data import ArrayDataset, DataLoader
    >>> loader = DataLoader(ArrayDataset(X, y), batch_size=64, shuffle=True)
    >>> for xb, yb in loader:          # Tensors: xb float32, yb int64
    ...     ...
"""

from . import transforms
from .csv_dataset import CSVDataset
from .dataset import (ArrayDataset, ConcatDataset, Dataset, MemmapDataset, Subset, TensorDataset,
                      labels_of, random_split, supports_batch)
from .loader import DataLoader, default_collate, to_tensors
from .sampler import (BatchSampler, RandomSampler, Sampler, SequentialSampler,
                      StratifiedBatchSampler, WeightedRandomSampler)
from .split import KFold, StratifiedKFold, cross_validate, train_test_split
from .text import Vocabulary, pad_sequences, tokenize  # noqa: F401  (text: seed Q37, Q38)
from .transforms import (Compose, GaussianNoise, MinMaxScale, NotFittedError, OneHot,
                         RandomFlip, RandomRotation, RandomShift, Standardize, Transform)

__all__ = ["Dataset", "ArrayDataset", "TensorDataset", "MemmapDataset", "CSVDataset", "Subset",
           "ConcatDataset", "random_split", "labels_of", "supports_batch", "DataLoader",
           "default_collate", "to_tensors", "Sampler", "SequentialSampler", "RandomSampler",
           "WeightedRandomSampler", "BatchSampler", "StratifiedBatchSampler", "train_test_split",
           "KFold", "StratifiedKFold", "cross_validate", "transforms", "Transform",
           "NotFittedError", "Standardize", "MinMaxScale", "OneHot", "Compose", "RandomShift",
           "RandomFlip", "RandomRotation", "GaussianNoise"]
