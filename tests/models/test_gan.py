"""GAN: losses, label smoothing, Trainer step, and samples that fool a digit classifier."""

import math

import numpy as np
import pytest

import lamina
import lamina.functional as F
from lamina import datasets
from lamina.models import GAN, MLP, dcgan_digits, dcgan_mnist, mlp_gan, save_image_grid
from lamina.optim import Adam
from lamina.train import Trainer


def _bce_logits(z, t):
    return np.mean(np.maximum(z, 0) - z * t + np.log1p(np.exp(-np.abs(z))))


def test_losses_and_one_sided_label_smoothing(rs):
    g, d = mlp_gan(6, latent_dim=3, hidden=8)
    gan = GAN(g, d, latent_dim=3, label_smoothing=0.2)
    real = lamina.tensor(rs.random((5, 6)).astype(np.float32))
    fake = lamina.tensor(rs.random((5, 6)).astype(np.float32))
    loss, d_real, d_fake = gan.discriminator_loss(real, fake)
    ref = _bce_logits(d_real.numpy(), 0.8) + _bce_logits(d_fake.numpy(), 0.0)  # fakes stay 0
    np.testing.assert_allclose(loss.item(), ref, rtol=1e-5)
    lamina.manual_seed(4)
    g_loss = gan.generator_loss(5)
    lamina.manual_seed(4)
    logits = d(g(gan.noise(5))).numpy()
    np.testing.assert_allclose(g_loss.item(), _bce_logits(logits, 1.0), rtol=1e-5)  # -log D(G(z))
    with pytest.raises(ValueError, match="GAN: expected 0 <= label_smoothing < 1"):
        GAN(g, d, 3, label_smoothing=1.0)


def test_train_step_updates_each_network_with_its_optimizer(rs):
    g, d = mlp_gan(6, latent_dim=3, hidden=8)
    gan = GAN(g, d, latent_dim=3, ema_decay=0.9)
    before_g = [p.array.copy() for p in g.parameters()]
    before_d = [p.array.copy() for p in d.parameters()]
    trainer = Trainer(gan, None, None, metrics=(), step_fn=gan.train_step)
    logs = gan.train_step(trainer, lamina.tensor(rs.random((8, 6)).astype(np.float32)))
    assert set(logs) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert all(math.isfinite(v) for v in logs.values())
    assert all(not np.array_equal(a, p.array) for a, p in zip(before_g, g.parameters()))
    assert all(not np.array_equal(a, p.array) for a, p in zip(before_d, d.parameters()))
    ema = list(gan.ema_generator.parameters())
    assert all(not p.requires_grad for p in ema)
    np.testing.assert_allclose(ema[0].array, 0.9 * before_g[0] + 0.1 * g[0].weight.array,
                               rtol=1e-5)


def test_dcgan_shapes():
    g, d = dcgan_digits(latent_dim=8, base=4)
    x = g(lamina.randn(3, 8))
    assert x.shape == (3, 1, 8, 8) and d(x).shape == (3, 1)
    g, d = dcgan_mnist(latent_dim=8, base=4)
    x = g(lamina.randn(2, 8))
    assert x.shape == (2, 1, 28, 28) and d(x).shape == (2, 1)


def test_save_image_grid(tmp_path, rs):
    path = save_image_grid(rs.random((10, 1, 8, 8)), tmp_path / "grid.png", title="t")
    assert path.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match=r"save_image_grid: expected \(N, H\*W\) with square"):
        save_image_grid(rs.random((4, 10)), tmp_path / "bad.png")


def test_gan_digits_fools_a_classifier():
    """Learning outcome (~45 s): samples of a DCGAN trained on 8x8 digits through the Trainer
    get confident predictions (max prob > 0.9) from a separately trained MLP for most samples,
    spread over at least 8 classes; D and G losses stay finite throughout."""
    d = datasets.load("digits", flatten=True)
    clf = MLP(64, (256,), 10)
    Trainer(clf, Adam(clf.parameters(), 1e-3), F.cross_entropy, metrics=()).fit(
        (d.x_train, d.y_train), epochs=150, batch_size=64, verbose=0)
    clf.eval()

    lamina.manual_seed(0)
    g, disc = dcgan_digits(latent_dim=32)
    gan = GAN(g, disc, latent_dim=32, label_smoothing=0.1,
              g_optimizer=Adam(g.parameters(), 5e-4, betas=(0.5, 0.999)),
              d_optimizer=Adam(disc.parameters(), 5e-4, betas=(0.5, 0.999)))
    trainer = Trainer(gan, None, None, metrics=(), step_fn=gan.train_step)
    images = d.x_train.reshape(-1, 1, 8, 8)
    hist = trainer.fit((images, d.y_train), epochs=20, batch_size=32, verbose=0)
    # per-epoch means: a single NaN/inf step would make its epoch's mean non-finite
    assert np.isfinite(hist["d_loss"]).all() and np.isfinite(hist["g_loss"]).all()

    samples = gan.sample(500)
    assert samples.shape == (500, 1, 8, 8) and samples.min() >= 0 and samples.max() <= 1
    with lamina.no_grad():
        proba = F.softmax(clf(lamina.tensor(samples.reshape(500, 64))), axis=1).numpy()
    confident = proba.max(1) > 0.9
    counts = np.bincount(proba.argmax(1)[confident], minlength=10)
    assert confident.mean() > 0.5, confident.mean()  # measured 0.67
    assert (counts >= 5).sum() >= 8, counts  # classes getting >= 1% of the samples


def test_gan_checkpoint_resumes_bit_for_bit_with_both_optimizer_states(tmp_path):
    X = datasets.load("digits", flatten=True).x_train[:96]

    def make():
        lamina.manual_seed(3)
        g, d = mlp_gan(64, latent_dim=8, hidden=16)
        return GAN(g, d, latent_dim=8, ema_decay=0.9)

    straight = make()
    straight.fit(X, epochs=3, batch_size=32)

    ckpt = str(tmp_path / "gan.safetensors")
    first = make()
    first.fit(X, epochs=2, batch_size=32, checkpoint=ckpt)
    state = lamina.load(ckpt)
    assert set(state["optimizer"]) == {"discriminator", "generator"}
    assert state["optimizer"]["generator"]["state"], "Adam moments must be in the checkpoint"
    lamina.manual_seed(99)  # the checkpoint restores the RNG itself
    resumed = make()        # fresh weights and fresh (empty) optimizer states
    resumed.fit(X, epochs=3, batch_size=32, checkpoint=ckpt, resume=True)
    for (k, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items()):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b), err_msg=k)
