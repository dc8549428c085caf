"""Self-organizing map (seed Q30).

Kohonen, "Self-Organized Formation of Topologically Correct Feature Maps", Biological
Cybernetics 43 (1982), and Kohonen, *Self-Organizing Maps* (Springer, 3rd ed. 2001) for the
batch algorithm. A ``rows x cols`` grid of weight vectors is pulled towards the data: for a sample
``x`` with best-matching unit (BMU) ``c``, node ``i`` moves by ``lr(t) * h_ci(t) * (x - w_i)``
with the Gaussian neighbourhood ``h_ci = exp(-|r_c - r_i|^2 / (2 sigma(t)^2))`` on grid
positions ``r``. Learning rate and radius decay exponentially from their start to their end value.

The SOM learns with this rule, not backprop, so it works on NumPy arrays (via
``lamina.backend``); every update is vectorized over the map nodes.
"""

from __future__ import annotations

from .. import backend as B
from ..errors import check

__all__ = ["SOM"]

np = B.np


class SOM:
    """Self-organizing map on a rectangular grid.

    Args:
        rows, cols (int): grid size.
        dim (int): input dimension.
        sigma (float, optional): initial neighbourhood radius in grid units. Default
            ``max(rows, cols) / 2``.
        sigma_end (float): final radius. Default 1.0.
        lr (float): initial learning rate (online training). Default 0.5.
        lr_end (float): final learning rate. Default 0.01.
        init (str): ``'pca'`` (grid spanning the two leading principal components, Kohonen's
            linear initialisation; default) or ``'random'`` (random training samples).

    Attributes:
        weights (array): (rows * cols, dim) node weights, row-major over the grid.
        grid (array): (rows * cols, 2) grid coordinates (row, col) of each node.
        history_ (dict): per-epoch ``quantization_error`` and ``topographic_error`` on the
            training data.
        labels_ (array): (rows, cols) majority label per node after :meth:`label_map`
            (-1 where no sample maps).

    Example:
        >>> som = SOM(10, 10, 64).fit(X, epochs=20)
        >>> som.quantization_error(X), som.topographic_error(X)
        >>> som.label_map(X, y); acc = (som.predict(X_test) == y_test).mean()
    """

    def __init__(self, rows: int, cols: int, dim: int, sigma: float | None = None,
                 sigma_end: float = 1.0, lr: float = 0.5, lr_end: float = 0.01,
                 init: str = "pca"):
        check(rows >= 1 and cols >= 1 and dim >= 1, "SOM", "rows, cols, dim >= 1",
              f"rows={rows}, cols={cols}, dim={dim}")
        check(init in ("pca", "random"), "SOM", "init 'pca' or 'random'", repr(init))
        self.rows, self.cols, self.dim = int(rows), int(cols), int(dim)
        self.sigma = float(sigma) if sigma is not None else max(rows, cols) / 2.0
        self.sigma_end, self.lr, self.lr_end = float(sigma_end), float(lr), float(lr_end)
        check(self.sigma > 0 and self.sigma_end > 0 and lr > 0 and lr_end > 0, "SOM",
              "positive sigma, sigma_end, lr, lr_end",
              f"{self.sigma}, {self.sigma_end}, {lr}, {lr_end}")
        self.init = init
        self.dtype = B.get_default_dtype()
        r, c = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
        self.grid = np.stack([r.ravel(), c.ravel()], axis=1).astype(self.dtype)
        diff = self.grid[:, None, :] - self.grid[None, :, :]
        self._grid_d2 = (diff ** 2).sum(-1)  # (nodes, nodes) squared grid distances
        self.weights = None
        self.history_: dict = {"quantization_error": [], "topographic_error": []}
        self.labels_ = None

    # ------------------------------------------------------------------ helpers
    def _as_x(self, X, op):
        X = np.asarray(B.to_host(X), dtype=self.dtype)
        X = X.reshape(len(X), -1) if X.ndim > 1 else X.reshape(1, -1)
        check(X.shape[1] == self.dim, op, f"samples of dimension {self.dim}", f"{X.shape}")
        return X

    def _require_fit(self, op):
        check(self.weights is not None, op, "a fitted SOM", "an unfitted one",
              fix="call fit(X) (or initialize(X)) first", cls=RuntimeError)

    def _sq_dist(self, X, W=None):
        W = self.weights if W is None else W
        d2 = (X ** 2).sum(1)[:, None] - 2.0 * (X @ W.T) + (W ** 2).sum(1)[None, :]
        return np.maximum(d2, 0.0)

    @staticmethod
    def _decay(start, end, t):
        return start * (end / start) ** t  # exponential from start (t=0) to end (t=1)

    def _neighbourhood(self, sigma):
        return np.exp(-self._grid_d2 / (2.0 * sigma * sigma)).astype(self.dtype)

    def initialize(self, X) -> "SOM":
        """Set the initial weights from data ``X`` (see ``init``); ``fit`` calls it."""
        X = self._as_x(X, "SOM.initialize")
        if self.init == "random":
            idx = B.rng().choice(len(X), size=self.rows * self.cols,
                                 replace=len(X) < self.rows * self.cols)
            self.weights = X[idx].copy()
            return self
        mean = X.mean(0)
        _, s, vt = np.linalg.svd(X - mean, full_matrices=False)
        std = s[:2] / np.sqrt(max(len(X) - 1, 1))
        if len(std) < 2:
            std, vt = np.concatenate([std, [0.0]]), np.concatenate([vt, np.zeros_like(vt)])
        span = [np.linspace(-1.0, 1.0, n) if n > 1 else np.zeros(1) for n in (self.rows,
                                                                           self.cols)]
        a = span[0][self.grid[:, 0].astype(int)]
        b = span[1][self.grid[:, 1].astype(int)]
        w = mean + (a[:, None] * std[0]) * vt[0] + (b[:, None] * std[1]) * vt[1]
        self.weights = w.astype(self.dtype)
        return self

    # ------------------------------------------------------------------ training
    def fit(self, X, epochs: int = 10, mode: str = "batch", verbose: int = 0) -> "SOM":
        """Train on ``X``.

        Args:
            X (array): (N, dim) samples (or (N, ...) flattened to dim).
            epochs (int): passes over the data. Default 10.
            mode (str): ``'batch'`` (Kohonen's batch map: every epoch each node becomes the
                neighbourhood-weighted mean of the data; no learning rate; default) or
                ``'online'`` (one update per sample in a shuffled order, lr and sigma decaying
                per step).
            verbose (int): print the quantization error after each epoch when > 0. Default 0.

        Returns:
            SOM: ``self``.
        """
        check(mode in ("batch", "online"), "SOM.fit", "mode 'batch' or 'online'", repr(mode))
        check(epochs >= 1, "SOM.fit", "epochs >= 1", repr(epochs))
        X = self._as_x(X, "SOM.fit")
        if self.weights is None:
            self.initialize(X)
        n, nodes = len(X), self.rows * self.cols
        for epoch in range(epochs):
            if mode == "batch":
                t = epoch / max(epochs - 1, 1)
                h = self._neighbourhood(self._decay(self.sigma, self.sigma_end, t))
                bmu = self.bmu(X)
                sums = np.zeros((nodes, self.dim), self.dtype)
                np.add.at(sums, bmu, X)
                counts = np.bincount(bmu, minlength=nodes).astype(self.dtype)
                num, den = h @ sums, h @ counts
                ok = den > 1e-12
                self.weights[ok] = num[ok] / den[ok, None]
            else:
                order = B.rng().permutation(n)
                total = epochs * n
                for k, i in enumerate(order):
                    t = (epoch * n + k) / max(total - 1, 1)
                    sigma = self._decay(self.sigma, self.sigma_end, t)
                    lr = self._decay(self.lr, self.lr_end, t)
                    x = X[i]
                    c = int(np.argmin(((self.weights - x) ** 2).sum(1)))
                    g = np.exp(-self._grid_d2[c] / (2.0 * sigma * sigma)).astype(self.dtype)
                    self.weights += (lr * g)[:, None] * (x - self.weights)
            self.history_["quantization_error"].append(self.quantization_error(X))
            self.history_["topographic_error"].append(self.topographic_error(X))
            if verbose:
                print(f"SOM epoch {epoch + 1}/{epochs}: quantization error "
                      f"{self.history_['quantization_error'][-1]:.4f}, topographic error "
                      f"{self.history_['topographic_error'][-1]:.4f}")
        return self

    # ------------------------------------------------------------------ queries
    def bmu(self, X):
        """Flat index (row * cols + col) of each sample's best-matching unit: (N,) int."""
        self._require_fit("SOM.bmu")
        return np.argmin(self._sq_dist(self._as_x(X, "SOM.bmu")), axis=1)

    def winner(self, x):
        """Grid position of the best-matching unit.

        Args:
            x (array): one sample (dim,) or a batch (N, dim).

        Returns:
            ``(row, col)`` for one sample, else an (N, 2) int array.
        """
        single = np.asarray(x).ndim == 1
        idx = self.bmu(x)
        pos = np.stack([idx // self.cols, idx % self.cols], axis=1)
        return (int(pos[0, 0]), int(pos[0, 1])) if single else pos

    def quantization_error(self, X) -> float:
        """Mean Euclidean distance from each sample to its BMU's weights."""
        self._require_fit("SOM.quantization_error")
        d2 = self._sq_dist(self._as_x(X, "SOM.quantization_error"))
        return float(np.sqrt(d2.min(axis=1)).mean())

    def topographic_error(self, X) -> float:
        """Fraction of samples whose first and second BMUs are not grid neighbours (8-way
        adjacency; Kiviluoto 1996). 0 for a map with a single node."""
        self._require_fit("SOM.topographic_error")
        if self.rows * self.cols < 2:
            return 0.0
        d2 = self._sq_dist(self._as_x(X, "SOM.topographic_error"))
        two = np.argsort(d2, axis=1)[:, :2]
        gap = np.abs(self.grid[two[:, 0]] - self.grid[two[:, 1]]).max(axis=1)
        return float((gap > 1).mean())

    def umatrix(self):
        """Unified distance matrix: mean weight distance of each node to its 8 neighbours.

        Returns:
            (rows, cols) array; high values mark cluster borders.
        """
        self._require_fit("SOM.umatrix")
        W = self.weights.reshape(self.rows, self.cols, self.dim)
        total = np.zeros((self.rows, self.cols), self.dtype)
        count = np.zeros((self.rows, self.cols), self.dtype)
        for dr in (-1, 0, 1):
            for dc in (-1, 0, 1):
                if dr == dc == 0:
                    continue
                r0, r1 = max(dr, 0), self.rows + min(dr, 0)
                c0, c1 = max(dc, 0), self.cols + min(dc, 0)
                d = np.sqrt(((W[r0:r1, c0:c1] - W[r0 - dr:r1 - dr, c0 - dc:c1 - dc]) ** 2)
                            .sum(-1))
                total[r0 - dr:r1 - dr, c0 - dc:c1 - dc] += d
                count[r0 - dr:r1 - dr, c0 - dc:c1 - dc] += 1
        return total / np.maximum(count, 1)

    def label_map(self, X, y):
        """Majority label of the samples mapped to each node (stored in ``labels_``).

        Args:
            X (array): (N, dim) samples. y (array): (N,) integer labels >= 0.

        Returns:
            (rows, cols) int array, -1 for nodes no sample maps to.
        """
        y = np.asarray(B.to_host(y)).astype(np.int64).ravel()
        X = self._as_x(X, "SOM.label_map")
        check(len(y) == len(X) and (y >= 0).all(), "SOM.label_map",
              "one non-negative integer label per sample", f"{len(y)} labels for {len(X)}")
        nodes = self.rows * self.cols
        counts = np.zeros((nodes, int(y.max()) + 1), np.int64)
        np.add.at(counts, (self.bmu(X), y), 1)
        labels = np.where(counts.sum(1) > 0, counts.argmax(1), -1)
        self.label_counts_ = counts
        self.labels_ = labels.reshape(self.rows, self.cols)
        return self.labels_

    def predict(self, X):
        """Label of each sample's best-matching *labelled* node (after :meth:`label_map`).

        Returns:
            (N,) int array.
        """
        check(self.labels_ is not None, "SOM.predict", "label_map(X, y) called first",
              "no labels", cls=RuntimeError)
        flat = self.labels_.ravel()
        keep = np.flatnonzero(flat >= 0)
        d2 = self._sq_dist(self._as_x(X, "SOM.predict"), self.weights[keep])
        return flat[keep[np.argmin(d2, axis=1)]]

    def plot_umatrix(self, path=None, X=None, y=None, class_names=None, ax=None,
                     title: str = "SOM U-matrix"):
        """Draw the U-matrix, with each node's majority label written on it.

        Args:
            path (str, optional): save the figure there as PNG.
            X, y (arrays, optional): labelled data for :meth:`label_map` (else ``labels_``
                when set).
            class_names (list, optional): text for each label. Default the label numbers.
            ax (matplotlib Axes, optional): draw into it instead of a new figure.
            title (str): axes title.

        Returns:
            matplotlib Figure.
        """
        from matplotlib import patheffects
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        outline = [patheffects.withStroke(linewidth=2, foreground="white")]
        if X is not None and y is not None:
            self.label_map(X, y)
        if ax is None:
            fig = Figure(figsize=(0.5 * self.cols + 1.5, 0.5 * self.rows + 1))
            FigureCanvasAgg(fig)
            ax = fig.add_subplot(1, 1, 1)
        fig = ax.figure
        im = ax.imshow(self.umatrix(), cmap="bone_r", interpolation="nearest")
        fig.colorbar(im, ax=ax, label="mean distance to neighbours")
        if self.labels_ is not None:
            n_cls = int(self.labels_.max()) + 1
            colors = [f"C{k % 10}" for k in range(max(n_cls, 1))]
            for (r, c), lab in np.ndenumerate(self.labels_):
                if lab >= 0:
                    text = class_names[lab] if class_names is not None else str(lab)
                    ax.text(c, r, text, ha="center", va="center", fontsize=8,
                            color=colors[lab], fontweight="bold", path_effects=outline)
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
        if path is not None:
            fig.savefig(path, dpi=100, bbox_inches="tight")
        return fig
