"""`lamina explain RUN_DIR`: overlays and a table for an image run, a SHAP summary for a tabular
run, and one-line errors (exit 2)."""

import json

import numpy as np
import pytest

from lamina.cli import main

FAST = ["--set", "train.epochs=2", "--set", "schedule.name=none", "--quiet"]


def _train(tmp_path, *sets):
    assert main(["train", *FAST, *sets, "--set", f"train.out_dir={tmp_path / 'runs'}"]) == 0
    (run,) = sorted((tmp_path / "runs").iterdir())
    return run


def _record(monkeypatch, *names):
    """Wrap lamina.explain.plot functions so the test sees the figures the CLI saved."""
    from lamina.explain import plot
    figs = {}
    for name in names:
        def wrapped(*a, _f=getattr(plot, name), _n=name, **k):
            figs[_n] = _f(*a, **k)
            return figs[_n]
        monkeypatch.setattr(plot, name, wrapped)
    return figs


def test_explain_tabular_run_writes_shap_summary(tmp_path, capsys, monkeypatch):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    from explain_png import assert_png_of
    run = _train(tmp_path, "--set", "data.dataset=breast_cancer", "--set", "model.name=mlp")
    out = tmp_path / "ex"
    figs = _record(monkeypatch, "beeswarm", "summary_bar")
    assert main(["explain", str(run), "--method", "shap", "--index", "0:6", "--samples", "64",
                 "--top", "7", "-o", str(out)]) == 0
    for f in ("summary.png", "bar.png", "explain.md", "explain.json"):
        assert (out / f).stat().st_size > 0, f
    assert_png_of(figs["beeswarm"], out / "summary.png")
    assert_png_of(figs["summary_bar"], out / "bar.png")
    (bee,), (bar,) = figs["beeswarm"].axes, figs["summary_bar"].axes
    assert len(bar.patches) == 7 and len(bee.collections) == 7  # --top features
    assert all(len(c.get_offsets()) == 6 for c in bee.collections)  # one dot per sample
    names = [t.get_text() for t in bar.get_yticklabels()][::-1]  # most important first
    md = (out / "explain.md").read_text()
    assert f"| 1 | {names[0]} |" in md and "x[" not in names[0]  # the dataset's names
    md = (out / "explain.md").read_text()
    assert "| 1 |" in md and "mean abs attribution" in md
    assert len(json.loads((out / "explain.json").read_text())["rows"]) == 6
    capsys.readouterr()
    assert main(["explain", str(run), "--index", "5000:5001"]) == 2
    assert "explain: expected --index within the" in capsys.readouterr().err
    assert main(["explain", str(run), "--method", "gradcam", "-o", str(out)]) == 2
    assert "expected image inputs" in capsys.readouterr().err


def _check_overlays(fig, out, n, side):
    from explain_png import assert_png_of, png_size
    assert_png_of(fig, out / "overlays.png")
    shown = [ax for ax in fig.axes if ax.axison]
    assert len(shown) == n
    rows = json.loads((out / "explain.json").read_text())["rows"]
    for ax, r in zip(shown, rows):
        base, heat = ax.get_images()
        assert base.get_array().shape == heat.get_array().shape == (side, side)
        lim = float(np.abs(heat.get_array()).max())
        np.testing.assert_allclose(heat.get_clim(), (-lim, lim), rtol=1e-6)
        assert heat.get_cmap().name == "bwr" and ax.get_title() == f"{r['label']}->{r['pred']}"
    w, h = png_size(out / "overlays.png")
    assert w > 4 * h  # one row of n <= 8 cells


def test_explain_image_run_writes_overlays_png(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    run = _train(tmp_path, "--set", "model.name=small_cnn")
    figs = _record(monkeypatch, "image_grid")
    out = tmp_path / "sal"
    assert main(["explain", str(run), "--method", "saliency", "--index", "0:6", "-o",
                 str(out)]) == 0
    _check_overlays(figs["image_grid"], out, 6, 8)  # digits are 8x8


@pytest.mark.slow
def test_explain_image_run_writes_overlays(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    run = _train(tmp_path, "--set", "model.name=small_cnn")
    figs = _record(monkeypatch, "image_grid")
    for method in ("integrated_gradients", "gradcam"):
        out = tmp_path / method
        assert main(["explain", str(run), "--method", method, "--index", "0:8", "--steps",
                     "16", "-o", str(out)]) == 0
        _check_overlays(figs["image_grid"], out, 8, 8)
        rows = json.loads((out / "explain.json").read_text())["rows"]
        assert len(rows) == 8
        if method == "integrated_gradients":
            assert all(abs(r["delta"]) < 0.1 * max(1.0, abs(r["score"])) for r in rows)
