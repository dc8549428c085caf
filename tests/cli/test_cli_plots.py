"""The figures a run writes read at a glance: integer epoch ticks from 1, log scale where the
loss spans decades, a learning-rate panel, and a confusion matrix titled with its split."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from lamina.cli.plots import plot_confusion, plot_curves  # noqa: E402


@pytest.fixture
def captured(monkeypatch):
    figs = []
    real = plt.close
    monkeypatch.setattr(plt, "close", lambda fig=None: figs.append(fig))
    yield figs
    for f in figs:
        real(f)


def test_curves_panels_ticks_and_log_scale(tmp_path, captured):
    hist = {"loss": [3.0, 0.5, 0.05, 0.01], "val_loss": [3.1, 0.7, 0.2, 0.1],
            "accuracy": [0.2, 0.6, 0.9, 0.95], "val_accuracy": [0.2, 0.5, 0.8, 0.9],
            "lr": [1e-4, 1e-3, 1e-3, 1e-5]}
    plot_curves(hist, tmp_path / "curves.png")
    assert (tmp_path / "curves.png").stat().st_size > 1000
    (fig,) = captured
    axes = {ax.get_title(): ax for ax in fig.axes}
    assert set(axes) == {"loss", "accuracy", "learning rate"}
    assert axes["loss"].get_yscale() == "log"          # 3.0 -> 0.01 spans decades
    assert axes["accuracy"].get_yscale() == "linear"
    assert axes["learning rate"].get_yscale() == "log"
    for ax in fig.axes:
        x = ax.get_lines()[0].get_xdata()
        assert list(x) == [1, 2, 3, 4]                # epochs from 1, as the console
        ticks = [t for t in ax.get_xticks() if 1 <= t <= 4]
        assert ticks and all(float(t).is_integer() for t in ticks)
    labels = [t.get_text() for t in axes["loss"].get_legend().get_texts()]
    assert labels == ["train", "validation"]


def test_curves_linear_when_loss_stays_within_a_decade(tmp_path, captured):
    plot_curves({"loss": [1.0, 0.8, 0.5]}, tmp_path / "c.png")
    (fig,) = captured
    assert [ax.get_yscale() for ax in fig.axes] == ["linear"]


def test_confusion_title_names_split_and_accuracy(tmp_path, captured):
    cm = np.array([[5, 1], [2, 12]])
    plot_confusion(cm, ["benign", "malignant"], tmp_path / "cm.png", split="validation")
    (fig,) = captured
    (ax,) = fig.axes
    assert "validation split" in ax.get_title() and "accuracy 0.850" in ax.get_title()
    assert [t.get_text() for t in ax.get_xticklabels()] == ["benign", "malignant"]
    cells = sorted(t.get_text() for t in ax.texts)
    assert cells == sorted(["5", "1", "2", "12"])
