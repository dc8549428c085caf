"""Batch-size / LR study under the data-parallel scaling rule (seed Q22, Q49)."""

import pytest

from lamina import datasets, tune
from lamina.models import MLP


def test_batch_size_study_scales_lr_and_learns(tmp_path):
    d = datasets.load("digits", flatten=True)
    train, val = (d.x_train[:600], d.y_train[:600]), (d.x_test, d.y_test)
    rows = tune.batch_size_study(lambda: MLP(64, [32], 10), train, val, batch_sizes=(16, 64),
                                 base_batch=16, base_lr=0.02, epochs=3, rule="sqrt",
                                 find_lr=True)
    assert [r["batch"] for r in rows] == [16, 64]
    assert rows[1]["lr"] == pytest.approx(0.04)  # sqrt(64 / 16) * 0.02
    assert rows[0]["val_accuracy"] > 0.8  # real learning on digits at the base batch
    assert all(1e-4 <= r["finder_lr"] <= 10 for r in rows)
    tune.plot_batch_size_study(rows, tmp_path / "b.png")
    assert (tmp_path / "b.png").stat().st_size > 1000
