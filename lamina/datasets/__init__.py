"""Datasets bundled inside Python packages (never downloaded), and a cached CSV downloader.

``load(name)`` returns a :class:`DatasetSplit` (train/test NumPy arrays plus metadata);
``lamina.datasets.list()`` describes what is available; ``make_windows`` turns a series into
supervised pairs; ``load_csv_url`` fetches a CSV into a local cache (sha256-checked).

Example:
    >>> from lamina import datasets
    >>> d = datasets.load("iris")            # standardized on the training part only
    >>> d.x_train.shape, d.class_names
    ((120, 4), ['setosa', 'versicolor', 'virginica'])
"""

from .core import DatasetSplit, list_datasets, load, make_windows
from .download import default_cache_dir, download, load_csv_url
from .text import (load_fine_foods, load_python_docs, make_digit_seq2seq,  # noqa: F401
                   make_entity_tagging)

list = list_datasets  # noqa: A001  (lamina.datasets.list(), like torchvision/tfds listings)

# "list" is left out of __all__ so a star-import never shadows the builtin
__all__ = ["DatasetSplit", "load", "list_datasets", "make_windows", "download", "load_csv_url",
           "default_cache_dir"]
