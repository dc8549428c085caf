"""Every picture of lamina.explain.plot, rendered with matplotlib's Agg backend: what is drawn
(axes, image arrays shaped as the input, the signed colour convention, bars, dots, lines,
labels) and the PNG each ``path=`` writes (a valid PNG of the figure's saved size)."""

import numpy as np
import pytest

pytest.importorskip("matplotlib").use("Agg")  # headless, as lamina.explain.plot uses
from explain_png import assert_png_of, png_size  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from lamina.explain import plot  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_overlay_is_signed_symmetric_and_written(tmp_path):
    image = np.linspace(0, 1, 64, dtype=np.float32).reshape(1, 8, 8)
    attr = np.zeros((1, 8, 8), np.float32)
    attr[0, 1, 2], attr[0, 5, 6], attr[0, 7, 7] = 2.0, -2.0, 0.5
    fig = plot.overlay(image, attr, title="digit 3", path=tmp_path / "o.png")
    ax, cbar = fig.axes  # the map and its colour bar
    assert ax.get_title() == "digit 3" and cbar.get_label() == "<colorbar>"
    base, heat = ax.get_images()
    assert base.get_array().shape == (8, 8) and heat.get_array().shape == (8, 8)
    assert base.get_cmap().name == "gray" and heat.get_cmap().name == "bwr"
    np.testing.assert_array_equal(heat.get_array(), attr[0])
    assert heat.get_clim() == (-2.0, 2.0) and heat.get_alpha() == 0.6
    rgba = heat.to_rgba(heat.get_array(), alpha=1.0)  # red positive, blue negative, white 0
    np.testing.assert_allclose(rgba[1, 2, :3], [1, 0, 0], atol=1e-6)
    np.testing.assert_allclose(rgba[5, 6, :3], [0, 0, 1], atol=1e-6)
    np.testing.assert_allclose(rgba[0, 0, :3], [1, 1, 1], atol=0.01)
    assert rgba[7, 7, 0] == 1.0 and 0.5 < rgba[7, 7, 1] < 1.0  # weak positive: light red
    assert_png_of(fig, tmp_path / "o.png")


def test_overlay_sums_colour_channels_and_survives_a_zero_map():
    rs = np.random.default_rng(0)
    image = rs.random((3, 6, 5)).astype(np.float32)
    attr = rs.standard_normal((3, 6, 5))
    fig = plot.overlay(image, attr)
    base, heat = fig.axes[0].get_images()
    assert base.get_array().shape == (6, 5, 3)  # channels last for imshow
    np.testing.assert_allclose(heat.get_array(), attr.sum(0))
    lim = np.abs(attr.sum(0)).max()
    np.testing.assert_allclose(heat.get_clim(), (-lim, lim))
    assert fig.axes[0].get_title() == ""
    heat0 = plot.overlay(image[0], np.zeros((6, 5))).axes[0].get_images()[1]
    assert heat0.get_clim() == (-1.0, 1.0)  # an all-zero map stays white, no division by 0


def test_image_grid_lays_out_rows_and_titles(tmp_path):
    rs = np.random.default_rng(1)
    images = rs.random((10, 1, 8, 8)).astype(np.float32)
    attrs = rs.standard_normal((10, 1, 8, 8)).astype(np.float32)
    fig = plot.image_grid(images, attrs, titles=[f"t{i}" for i in range(10)], ncols=4,
                          path=tmp_path / "g.png")
    axes = fig.axes
    assert len(axes) == 12  # 3 rows of 4
    shown = [ax for ax in axes if ax.axison]
    assert len(shown) == 10 and all(not ax.get_images() for ax in axes[10:])
    for i, ax in enumerate(shown):
        base, heat = ax.get_images()
        assert ax.get_title() == f"t{i}"
        np.testing.assert_array_equal(base.get_array(), images[i, 0])
        np.testing.assert_array_equal(heat.get_array(), attrs[i, 0])
        lim = float(np.abs(attrs[i]).max())
        np.testing.assert_allclose(heat.get_clim(), (-lim, lim))  # each map its own limits
    assert_png_of(fig, tmp_path / "g.png")
    w, h = png_size(tmp_path / "g.png")
    assert w > h  # 4 columns by 3 rows of square cells
    assert len(plot.image_grid(images[:3], attrs[:3]).axes) == 3  # ncols shrinks to n


def test_text_html_colours_tokens_by_sign_and_escapes(tmp_path):
    out = plot.text_html(["a", "<b>", "c", "d"], [2.0, -2.0, 0.0, 1.0], path=tmp_path / "t.html")
    assert out == (tmp_path / "t.html").read_text(encoding="utf-8")
    assert out.startswith("<p>") and out.count("<span") == 4
    assert "&lt;b&gt;" in out and "<b>" not in out
    assert 'rgb(255, 0, 0)' in out and 'rgb(0, 0, 255)' in out  # full red / full blue
    assert 'rgb(255, 255, 255)' in out and 'rgb(255, 127, 127)' in out  # 0 white, +1 half
    assert 'title="2"' in out and 'title="-2"' in out


def test_summary_bar_orders_features_by_mean_abs_value(tmp_path):
    v = np.array([[1.0, -4.0, 0.5, 0.0], [-3.0, 2.0, 0.5, 0.1]])
    names = ["w", "x", "y", "z"]
    fig = plot.summary_bar(v, names, max_display=3, path=tmp_path / "b.png")
    (ax,) = fig.axes
    bars = ax.patches
    assert len(bars) == 3  # max_display
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["y", "w", "x"]  # largest on top (last row)
    np.testing.assert_allclose([b.get_width() for b in bars], [0.5, 2.0, 3.0])
    assert ax.get_xlabel() == "mean |attribution|"
    assert_png_of(fig, tmp_path / "b.png")
    default = plot.summary_bar(v).axes[0]
    assert [t.get_text() for t in default.get_yticklabels()][-1] == "x[1]"


def test_beeswarm_puts_one_dot_per_row_at_its_attribution(tmp_path):
    rs = np.random.default_rng(2)
    v = rs.standard_normal((40, 5)) * np.array([0.1, 3.0, 1.0, 0.01, 2.0])
    f = rs.random((40, 5))
    fig = plot.beeswarm(v, f, [f"f{j}" for j in range(5)], max_display=4,
                        path=tmp_path / "s.png")
    (ax,) = fig.axes
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["f0", "f2", "f4", "f1"]  # f3 (smallest) left out, largest on top
    cols = ax.collections
    assert len(cols) == 4
    for row, (c, j) in enumerate(zip(cols, [0, 2, 4, 1])):
        xy = c.get_offsets()
        assert xy.shape == (40, 2)
        np.testing.assert_allclose(xy[:, 0], v[:, j])
        assert np.all(np.abs(xy[:, 1] - row) <= 0.25)  # jitter within the row
        col = f[:, j]  # colour: the feature's value scaled to [0, 1], blue low, red high
        np.testing.assert_allclose(c.get_array(), (col - col.min()) / np.ptp(col))
        assert c.get_cmap().name == "coolwarm"
    assert "blue low, red high" in ax.get_xlabel()
    assert_png_of(fig, tmp_path / "s.png")


def test_waterfall_walks_from_base_value_to_prediction(tmp_path):
    v = np.array([0.5, -2.0, 0.1, 1.0, -0.05])
    fig = plot.waterfall(v, 3.0, list("abcde"), max_display=3, path=tmp_path / "w.png")
    (ax,) = fig.axes
    bars = ax.patches
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == ["2 other features", "a", "d", "b"]  # |value| order, rest summed below
    widths = [b.get_width() for b in bars]
    np.testing.assert_allclose(widths, [0.05, 0.5, 1.0, -2.0])
    lefts = [b.get_x() for b in bars]  # each bar starts where the previous one ended
    np.testing.assert_allclose(lefts, [3.0, 3.05, 3.55, 4.55])
    assert lefts[-1] + widths[-1] == pytest.approx(3.0 + v.sum())
    red, blue = (0.839, 0.153, 0.157), (0.122, 0.467, 0.706)
    for b, w in zip(bars, widths):
        np.testing.assert_allclose(b.get_facecolor()[:3], red if w >= 0 else blue, atol=2e-3)
    assert ax.get_xlabel() == "output (E f = 3, f(x) = 2.55)"
    assert_png_of(fig, tmp_path / "w.png")


def test_deletion_plot_draws_mean_curves_with_aopc(tmp_path):
    fr = np.linspace(0, 1, 5)
    fast = np.array([[1.0, 0.4, 0.2, 0.1, 0.0], [0.8, 0.2, 0.1, 0.0, 0.0]])
    slow = np.array([[1.0, 0.9, 0.8, 0.6, 0.0], [0.8, 0.8, 0.7, 0.5, 0.0]])
    fig = plot.deletion_plot(fr, {"IG": fast, "random": slow}, path=tmp_path / "d.png")
    (ax,) = fig.axes
    lines = ax.get_lines()
    assert len(lines) == 2
    for line, s in zip(lines, (fast, slow)):
        np.testing.assert_allclose(line.get_xdata(), fr)
        np.testing.assert_allclose(line.get_ydata(), s.mean(0))
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    a_fast, a_slow = ((s[:, :1] - s).mean() for s in (fast, slow))
    assert texts == [f"IG (AOPC {a_fast:.3f})", f"random (AOPC {a_slow:.3f})"]
    assert ax.get_xlabel() == "fraction of features removed"
    assert ax.get_ylabel() == "class probability"
    assert_png_of(fig, tmp_path / "d.png")


def test_sanity_plot_bars_follow_the_scores(tmp_path):
    scores = {"8": 0.46, "6": 0.2, "3": -0.1, "0": 0.05}
    fig = plot.sanity_plot(scores, path=tmp_path / "c.png")
    (ax,) = fig.axes
    np.testing.assert_allclose([b.get_height() for b in ax.patches], list(scores.values()))
    assert [t.get_text() for t in ax.get_xticklabels()] == list(scores)
    assert ax.get_ylim() == (-0.2, 1.05) and ax.get_ylabel() == "Spearman vs trained"
    assert "permuted labels" not in ax.get_xlabel()
    assert_png_of(fig, tmp_path / "c.png")
    both = plot.sanity_plot({**scores, "randomized_labels": 0.2}).axes[0]
    grey, red = both.patches[0].get_facecolor(), both.patches[-1].get_facecolor()
    assert red[0] > 0.8 > red[1] and grey[0] == grey[1] == grey[2]  # data check in red
    assert both.get_xlabel().endswith("red: trained on permuted labels")
