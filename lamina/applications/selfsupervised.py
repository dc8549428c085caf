"""Self-supervised learning (seed Q39): learn image features without labels, then measure them.

Two pretext tasks train an ``encoder`` (images -> feature vectors) on unlabelled images:

* rotation prediction (Gidaris, Singh & Komodakis, 2018): rotate each image by 0, 90, 180 and
  270 degrees and classify the rotation (:func:`pretrain_rotation`);
* contrastive learning with the NT-Xent loss of SimCLR (Chen et al., 2020): two random
  augmentations of an image must map close together and far from every other image of the
  batch (:func:`nt_xent_loss`, :class:`SimCLR`, :func:`pretrain_simclr`).

:func:`linear_probe` is the standard measure of the result: logistic regression on the frozen
features with a few labels. Both pretraining loops are a :class:`~lamina.train.Trainer` with a
replaced ``step_fn``, so callbacks, history and checkpoints work as in supervised training.

Example:
    >>> encoder = nn.Sequential(LeNet5(batch_norm=True).features, nn.Flatten())
    >>> pretrain_rotation(encoder, x_unlabelled, feature_dim=400, epochs=3)
    >>> linear_probe(encoder, x_few, y_few, x_test, y_test)
    0.9...
"""

from __future__ import annotations

from functools import partial

from .. import backend as B
from .. import functional as F
from ..autograd.grad_mode import no_grad
from ..autograd.tensor import Tensor
from ..data import ArrayDataset, DataLoader
from ..errors import check
from ..nn.containers import Sequential
from ..nn.layers import Linear
from ..nn.activation import ReLU
from ..nn.module import Module
from ..optim import Adam
from ..train import Trainer
from ..train.step import split_batch

__all__ = ["rotate_batch", "RotationPrediction", "pretrain_rotation", "nt_xent_loss", "SimCLR",
           "simclr_augment", "pretrain_simclr", "extract_features", "linear_probe"]

np = B.np


def _host(x):
    return B.to_host(x.array) if isinstance(x, Tensor) else np.asarray(x)


def rotate_batch(x):
    """Every image of a batch under the four rotations, with the rotation as its label.

    Args:
        x: images (Tensor or array), square in the last two axes.

    Returns:
        ``(images, labels)`` host arrays: ``images[k*N + i]`` is image ``i`` rotated by
        ``k * 90`` degrees counter-clockwise; ``labels`` (int64) holds ``k``.

    Shape:
        ``(N, C, H, H) -> (4N, C, H, H)`` and ``(4N,)``.

    Example:
        >>> xr, yr = rotate_batch(np.zeros((2, 1, 28, 28), np.float32))
        >>> xr.shape, yr.tolist()
        ((8, 1, 28, 28), [0, 0, 1, 1, 2, 2, 3, 3])
    """
    a = _host(x)
    check(a.ndim >= 2 and a.shape[-1] == a.shape[-2], "rotate_batch",
          "images square in the last two axes", f"shape {a.shape}")
    xs = np.concatenate([np.rot90(a, k, axes=(-2, -1)) for k in range(4)])
    ys = np.repeat(np.arange(4, dtype=np.int64), len(a))
    return np.ascontiguousarray(xs), ys


class RotationPrediction(Module):
    """``encoder`` plus a linear head that predicts which of four rotations an image underwent.

    Args:
        encoder (Module): images -> features ``(N, feature_dim)``.
        feature_dim (int): the encoder's output width.

    Shape:
        ``(N, C, H, W) -> (N, 4)`` logits.
    """

    def __init__(self, encoder: Module, feature_dim: int):
        super().__init__()
        self.encoder = encoder
        self.head = Linear(feature_dim, 4)

    def forward(self, x):
        return self.head(self.encoder(x))


def _rotation_step(trainer, batch) -> dict:
    x, _ = split_batch(batch)
    xr, yr = rotate_batch(x)
    trainer.optimizer.zero_grad()
    out = trainer.model(Tensor(xr))
    loss = F.cross_entropy(out, Tensor(yr))
    loss.backward()
    trainer.optimizer.step()
    return {"loss": loss.item(), "y_pred": out.array, "y_true": yr}


def _fit(model, x, step_fn, epochs, batch_size, lr, callbacks, verbose, transform=None):
    loader = DataLoader(ArrayDataset(_host(x)), batch_size=batch_size, shuffle=True,
                        drop_last=True, transform=transform)
    trainer = Trainer(model, Adam(model.parameters(), lr=lr), metrics=("accuracy",),
                      step_fn=step_fn)
    return trainer.fit(loader, epochs=epochs, callbacks=callbacks, verbose=verbose)


def pretrain_rotation(encoder: Module, x, feature_dim: int, epochs: int = 5,
                      batch_size: int = 64, lr: float = 1e-3, callbacks=(), verbose: int = 0):
    """Train ``encoder`` (in place) to recognise rotations of the unlabelled images ``x``.

    Each batch of ``batch_size`` images becomes ``4 * batch_size`` rotated copies.

    Args:
        encoder (Module): images -> ``(N, feature_dim)`` features.
        x: unlabelled images ``(N, C, H, H)`` (array or Tensor).
        feature_dim (int): width of the encoder's output.
        epochs (int): default 5. batch_size (int): default 64. lr (float): Adam's, default 1e-3.
        callbacks (sequence): Trainer callbacks. verbose (int): Trainer verbosity, default 0.

    Returns:
        History: per-epoch ``loss`` and ``accuracy`` (of the rotation task).
    """
    model = RotationPrediction(encoder, feature_dim)
    return _fit(model, x, _rotation_step, epochs, batch_size, lr, callbacks, verbose)


def nt_xent_loss(z1, z2, temperature: float = 0.5):
    """NT-Xent, the normalized temperature-scaled cross-entropy of SimCLR.

    Rows ``z1[i]`` and ``z2[i]`` are two views of sample ``i``. After L2-normalization each of
    the ``2N`` rows is a ``2N - 1``-way classification whose logits are its cosine similarities
    divided by ``temperature`` and whose answer is the row's partner view.

    Args:
        z1, z2 (Tensor): projections of the two views, ``(N, D)`` each, N >= 2.
        temperature (float): > 0; lower values weigh hard negatives more. Default 0.5.

    Returns:
        Tensor: scalar mean loss over the ``2N`` rows (``log(2N - 1)`` for uninformative
        projections, towards 0 as partners separate from the rest).

    Example:
        >>> nt_xent_loss(lamina.randn(8, 16), lamina.randn(8, 16)).item()   # ~ log(15)
    """
    check(tuple(z1.shape) == tuple(z2.shape) and len(z1.shape) == 2 and z1.shape[0] >= 2,
          "nt_xent_loss", "z1 and z2 of the same shape (N, D) with N >= 2",
          f"{tuple(z1.shape)} and {tuple(z2.shape)}")
    check(temperature > 0, "nt_xent_loss", "temperature > 0", repr(temperature))
    n = z1.shape[0]
    z = F.normalize(F.cat([z1, z2], dim=0), dim=1)
    xp = B.get_array_module(z.array)
    self_mask = xp.eye(2 * n, dtype=z.dtype) * -1e9  # a row is never its own candidate
    logits = (z @ z.T) * (1.0 / temperature) + self_mask
    target = xp.concatenate([xp.arange(n, 2 * n), xp.arange(n)]).astype(xp.int64)
    return F.cross_entropy(logits, Tensor(target))


class SimCLR(Module):
    """``encoder`` plus SimCLR's projection head (Linear -> ReLU -> Linear); the loss is taken
    on the projections, the encoder's features are what downstream tasks use.

    Args:
        encoder (Module): images -> ``(N, feature_dim)``.
        feature_dim (int): the encoder's output width.
        hidden_dim (int): projection head's hidden width. Default 128.
        proj_dim (int): projection width. Default 64.

    Shape:
        ``(N, C, H, W) -> (N, proj_dim)``.
    """

    def __init__(self, encoder: Module, feature_dim: int, hidden_dim: int = 128,
                 proj_dim: int = 64):
        super().__init__()
        self.encoder = encoder
        self.projector = Sequential(Linear(feature_dim, hidden_dim), ReLU(),
                                    Linear(hidden_dim, proj_dim))

    def forward(self, x):
        return self.projector(self.encoder(x))


def simclr_augment(max_shift: int = 3, degrees: float = 20.0, noise: float = 0.1):
    """The default SimCLR view generator for small grey images: random shift, rotation and
    Gaussian noise (:mod:`lamina.data.augment`).

    Args:
        max_shift (int): default 3. degrees (float): default 20. noise (float): std, default 0.1.

    Returns:
        a callable ``aug(x, rng=None)`` on ``(N, C, H, W)`` batches.
    """
    from ..data import Compose, GaussianNoise, RandomRotation, RandomShift
    return Compose([RandomShift(max_shift), RandomRotation(degrees), GaussianNoise(noise)])


def _simclr_step(trainer, batch, augment, temperature) -> dict:
    x, _ = split_batch(batch)
    v1, v2 = Tensor(augment(_host(x))), Tensor(augment(_host(x)))
    trainer.optimizer.zero_grad()
    loss = nt_xent_loss(trainer.model(v1), trainer.model(v2), temperature)
    loss.backward()
    trainer.optimizer.step()
    return {"loss": loss.item()}


def pretrain_simclr(encoder: Module, x, feature_dim: int, augment=None, epochs: int = 10,
                    batch_size: int = 128, lr: float = 1e-3, temperature: float = 0.5,
                    hidden_dim: int = 128, proj_dim: int = 64, callbacks=(),
                    verbose: int = 0):
    """Train ``encoder`` (in place) with SimCLR's contrastive objective on unlabelled ``x``.

    Args:
        encoder (Module): images -> ``(N, feature_dim)``.
        x: unlabelled images ``(N, C, H, W)``.
        feature_dim (int): the encoder's output width.
        augment (callable): draws one random view of a batch; default :func:`simclr_augment`.
        epochs (int): default 10. batch_size (int): default 128 (the negatives of each row are
            the other ``2 * batch_size - 2`` views). lr (float): Adam's, default 1e-3.
        temperature (float): NT-Xent temperature. Default 0.5.
        hidden_dim, proj_dim (int): projection head widths. Defaults 128, 64.
        callbacks (sequence): Trainer callbacks. verbose (int): default 0.

    Returns:
        History: per-epoch ``loss``.
    """
    model = SimCLR(encoder, feature_dim, hidden_dim, proj_dim)
    loader = DataLoader(ArrayDataset(_host(x)), batch_size=batch_size, shuffle=True,
                        drop_last=True)
    step = partial(_simclr_step, augment=augment or simclr_augment(), temperature=temperature)
    trainer = Trainer(model, Adam(model.parameters(), lr=lr), metrics=(), step_fn=step)
    return trainer.fit(loader, epochs=epochs, callbacks=callbacks, verbose=verbose)


def extract_features(encoder: Module, x, batch_size: int = 500):
    """The encoder's outputs for ``x`` in eval mode without gradients, as a host array.

    Args:
        encoder (Module): images -> features. x: inputs (array or Tensor).
        batch_size (int): inputs per forward pass. Default 500.

    Returns:
        array ``(N, D)`` (outputs flattened after the first axis); the encoder's mode is
        restored afterwards.
    """
    a = _host(x)
    was_training = encoder.training
    encoder.eval()
    try:
        with no_grad():
            outs = [_host(encoder(Tensor(a[i:i + batch_size])))
                    for i in range(0, len(a), batch_size)]
    finally:
        encoder.train(was_training)
    out = np.concatenate(outs)
    return out.reshape(len(out), -1)


def linear_probe(encoder: Module, x_train, y_train, x_test, y_test, epochs: int = 100,
                 lr: float = 0.01, weight_decay: float = 1e-4, batch_size: int = 256) -> float:
    """Test accuracy of logistic regression trained on the encoder's frozen features.

    Features are standardized with the training part's statistics, then a ``Linear`` layer is
    trained with Adam and cross-entropy (lamina only). The encoder is not changed.

    Args:
        encoder (Module): images -> features.
        x_train, y_train: the labelled examples (int class labels).
        x_test, y_test: held-out examples.
        epochs (int): default 100. lr (float): Adam's, default 0.01.
        weight_decay (float): L2 penalty on the weights (added to the loss). Default 1e-4.
        batch_size (int): default 256.

    Returns:
        float: accuracy on ``(x_test, y_test)``.

    Example:
        >>> linear_probe(encoder, d.x_train[:400], d.y_train[:400], d.x_test, d.y_test)
        0.9...
    """
    y_tr, y_te = _host(y_train).astype(np.int64), _host(y_test).astype(np.int64)
    f_tr, f_te = extract_features(encoder, x_train), extract_features(encoder, x_test)
    check(len(f_tr) == len(y_tr) and len(f_te) == len(y_te), "linear_probe",
          "as many labels as examples", f"{len(f_tr)}/{len(y_tr)} and {len(f_te)}/{len(y_te)}")
    mean, std = f_tr.mean(0), f_tr.std(0) + 1e-6
    f_tr, f_te = (f_tr - mean) / std, (f_te - mean) / std
    n_classes = int(max(y_tr.max(), y_te.max())) + 1
    probe = Linear(f_tr.shape[1], n_classes)
    opt = Adam(probe.parameters(), lr=lr)
    loader = DataLoader(ArrayDataset(f_tr, y_tr), batch_size=batch_size, shuffle=True)
    for _ in range(epochs):
        for xb, yb in loader:
            opt.zero_grad()
            loss = F.cross_entropy(probe(xb), yb)
            if weight_decay:
                loss = loss + (probe.weight * probe.weight).sum() * (0.5 * weight_decay)
            loss.backward()
            opt.step()
    with no_grad():
        pred = _host(probe(Tensor(f_te))).argmax(1)
    return float((pred == y_te).mean())
