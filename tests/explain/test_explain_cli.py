"""`lamina explain RUN_DIR`: overlays and a table for an image run, a SHAP summary for a tabular
run, and one-line errors (exit 2)."""

import json

import pytest

from lamina.cli import main

FAST = ["--set", "train.epochs=2", "--set", "schedule.name=none", "--quiet"]


def _train(tmp_path, *sets):
    assert main(["train", *FAST, *sets, "--set", f"train.out_dir={tmp_path / 'runs'}"]) == 0
    (run,) = sorted((tmp_path / "runs").iterdir())
    return run


def test_explain_tabular_run_writes_shap_summary(tmp_path, capsys):
    pytest.importorskip("sklearn")
    pytest.importorskip("matplotlib")
    run = _train(tmp_path, "--set", "data.dataset=breast_cancer", "--set", "model.name=mlp")
    out = tmp_path / "ex"
    assert main(["explain", str(run), "--method", "shap", "--index", "0:6", "--samples", "64",
                 "-o", str(out)]) == 0
    for f in ("summary.png", "bar.png", "explain.md", "explain.json"):
        assert (out / f).stat().st_size > 0, f
    md = (out / "explain.md").read_text()
    assert "| 1 |" in md and "mean abs attribution" in md
    assert len(json.loads((out / "explain.json").read_text())["rows"]) == 6
    capsys.readouterr()
    assert main(["explain", str(run), "--index", "5000:5001"]) == 2
    assert "explain: expected --index within the" in capsys.readouterr().err
    assert main(["explain", str(run), "--method", "gradcam", "-o", str(out)]) == 2
    assert "expected image inputs" in capsys.readouterr().err


@pytest.mark.slow
def test_explain_image_run_writes_overlays(tmp_path):
    pytest.importorskip("matplotlib")
    run = _train(tmp_path, "--set", "model.name=small_cnn")
    for method in ("integrated_gradients", "gradcam"):
        out = tmp_path / method
        assert main(["explain", str(run), "--method", method, "--index", "0:8", "--steps",
                     "16", "-o", str(out)]) == 0
        assert (out / "overlays.png").stat().st_size > 1000
        rows = json.loads((out / "explain.json").read_text())["rows"]
        assert len(rows) == 8
        if method == "integrated_gradients":
            assert all(abs(r["delta"]) < 0.1 * max(1.0, abs(r["score"])) for r in rows)
