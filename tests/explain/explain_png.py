"""PNG checks of the explain tests: a file is a valid PNG, of the size matplotlib's
``savefig(dpi=100, bbox_inches="tight")`` gives its figure (what lamina.explain.plot writes)."""

import struct

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def png_size(path):
    """(width, height) of a PNG file, after checking its signature and that it decodes."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", path
    w, h = struct.unpack(">II", data[16:24])
    assert plt.imread(str(path)).shape[:2] == (h, w)
    return w, h


def saved_size(fig, dpi=100, pad=0.1):
    """The pixel size ``savefig(dpi=100, bbox_inches='tight')`` gives this figure."""
    bb = fig.get_tightbbox(fig.canvas.get_renderer()).padded(pad)
    return bb.width * dpi, bb.height * dpi


def assert_png_of(fig, path):
    w, h = png_size(path)
    ew, eh = saved_size(fig)
    assert abs(w - ew) <= 2 and abs(h - eh) <= 2, ((w, h), (ew, eh))
