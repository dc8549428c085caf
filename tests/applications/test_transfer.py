"""Transfer learning (seed Q33): frozen BatchNorm, head replacement, discriminative learning
rates, prefix loading of a real pretrained backbone, gradual unfreezing, and the outcome: a CNN
pretrained on digits 0-4 beats training from scratch on 10 labels per class of digits 5-9, both
sides trained with the same recipe."""

import contextlib

import numpy as np
import pytest

import lamina as L
import lamina.nn as nn
from lamina import io, optim
from lamina.applications.transfer import (GradualUnfreezing, discriminative_param_groups,
                                          layer_groups, load_pretrained, replace_head)
from lamina.data import ArrayDataset, Compose, DataLoader, RandomRotation, RandomShift
from lamina.models import LeNet5
from lamina.train import LambdaCallback, Trainer


def _one_blas_thread():
    """Tiny GEMMs (a 6-channel conv's weight gradient) run ~1000x slower when a loaded machine
    oversubscribes OpenBLAS threads; one thread keeps these learning tests in budget."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def make_cnn(n_classes=5):
    """LeNet-5's conv features (with BatchNorm) and a linear head: ``features.*``,
    ``classifier.1``."""
    model = LeNet5(num_classes=n_classes, batch_norm=True)
    model.classifier = nn.Sequential(nn.Flatten(), nn.Linear(400, n_classes))
    return model


# ---------------------------------------------------------------------- building blocks
def test_freeze_holds_batchnorm_in_eval_and_unfreeze_releases_it():
    model = make_cnn()
    bn = model.features[1]
    x = L.randn(8, 1, 28, 28) * 3.0 + 1.0
    model.features.freeze()
    model.train()
    assert not bn.training and model.training and model.classifier.training
    assert not any(p.requires_grad for p in model.features.parameters())
    before = bn.running_mean.numpy().copy(), int(bn.num_batches_tracked.item())
    model(x).sum().backward()
    assert np.array_equal(bn.running_mean.numpy(), before[0])
    assert int(bn.num_batches_tracked.item()) == before[1]
    assert model.classifier[1].weight.grad is not None and bn.weight.grad is None
    model.eval().train()  # still held after any number of mode switches
    assert not bn.training
    model.features.unfreeze()
    assert bn.training and all(p.requires_grad for p in model.parameters())
    model(x)
    assert int(bn.num_batches_tracked.item()) == before[1] + 1

    model.features.freeze(bn_eval=False)  # the old behaviour on request
    model.train()
    assert bn.training and not bn.weight.requires_grad


def test_replace_head_by_path_index_and_errors():
    model = LeNet5(num_classes=10)
    old = replace_head(model, "classifier.-1", nn.Linear(84, 5))
    assert isinstance(old, nn.Linear) and old.out_features == 10
    assert model(L.randn(2, 1, 28, 28)).shape == (2, 5)
    assert "classifier.5.weight" in model.state_dict()
    seq = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    seq.eval()
    new = nn.Linear(8, 2)
    assert replace_head(seq, 2, new).out_features == 3
    assert seq[2] is new and not new.training and seq(L.randn(3, 4)).shape == (3, 2)
    with pytest.raises(ValueError, match="replace_head: expected a child of Sequential"):
        replace_head(model, "classifier.fc", nn.Linear(84, 5))
    with pytest.raises(ValueError, match="index"):
        replace_head(seq, 7, nn.Linear(8, 2))
    with pytest.raises(TypeError, match="Module"):
        replace_head(seq, 0, "linear")


def test_layer_groups_and_discriminative_learning_rates():
    model = LeNet5(batch_norm=True)
    groups = layer_groups(model)
    assert [n for n, _ in groups] == ["features.0", "features.4", "classifier.1",
                                      "classifier.3", "classifier.5"]
    assert [type(m).__name__ for m in groups[0][1]] == ["Conv2d", "BatchNorm2d"]
    pg = discriminative_param_groups(model, 1e-2, decay=2.0)
    assert [g["lr"] for g in pg] == pytest.approx([1e-2 / 16, 1e-2 / 8, 1e-2 / 4, 1e-2 / 2,
                                                   1e-2])
    ids = [id(p) for g in pg for p in g["params"]]
    assert sorted(ids) == sorted(id(p) for p in model.parameters())  # each exactly once
    opt = optim.Adam(pg)
    assert [g["name"] for g in opt.param_groups][-1] == "classifier.5"
    # explicit groups by name; parameters in no group join the last one
    pg2 = discriminative_param_groups(model, 1.0, decay=10.0, groups=["features", "classifier.1"])
    assert [g["lr"] for g in pg2] == pytest.approx([0.1, 1.0])
    assert len(pg2[1]["params"]) == 6  # classifier.1, .3 and .5 weights and biases
    with pytest.raises(ValueError, match="decay >= 1"):
        discriminative_param_groups(model, 1e-3, decay=0.5)


def test_gradual_unfreezing_schedule_with_trainer():
    L.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 8),
                          nn.ReLU(), nn.Linear(8, 3))
    groups = [g for _, g in layer_groups(model)]  # [[Linear, BatchNorm1d], [Linear], [Linear]]
    assert len(groups) == 3
    cb = GradualUnfreezing(groups[:-1], every=2)
    rs = np.random.default_rng(0)
    x = rs.standard_normal((64, 6)).astype(np.float32)
    y = rs.integers(0, 3, 64)
    seen, snaps = [], []

    def record(epoch, logs):
        seen.append([model[i].weight.requires_grad for i in (0, 3, 5)])
        snaps.append(model[0].weight.numpy().copy())

    log = LambdaCallback(on_epoch_end=record)
    opt = optim.SGD(discriminative_param_groups(model, 0.1, groups=groups), lr=0.1)
    Trainer(model, opt, "cross_entropy").fit((x, y), epochs=5, batch_size=16, verbose=0,
                                              callbacks=[cb, log])
    assert seen == [[False, False, True], [False, False, True], [False, True, True],
                    [False, True, True], [True, True, True]]
    assert np.array_equal(snaps[0], snaps[3]) and not np.array_equal(snaps[3], snaps[4])
    assert cb.unfrozen == 2
    with pytest.raises(ValueError, match="every >= 1"):
        GradualUnfreezing(groups, every=0)


# ---------------------------------------------------------------------- real pretraining
@pytest.fixture(scope="module")
def digits():
    from lamina.datasets import load
    d = load("mnist5k")
    src, tgt, tgt_te = d.y_train < 5, d.y_train >= 5, d.y_test >= 5
    return {"x_src": d.x_train[src], "y_src": d.y_train[src],
            "x_tgt": d.x_train[tgt], "y_tgt": d.y_train[tgt] - 5,
            "x_test": d.x_test[tgt_te], "y_test": d.y_test[tgt_te] - 5,
            "x_src_test": d.x_test[~tgt_te], "y_src_test": d.y_test[~tgt_te]}


AUG = Compose([RandomShift(2), RandomRotation(10)])


def _pretrain(digits, epochs, tmp_path_factory):
    """A CNN trained on digits 0-4 (``epochs`` epochs, augmented), saved with lamina.io."""
    with _one_blas_thread():
        L.manual_seed(0)
        model = make_cnn(5)
        loader = DataLoader(ArrayDataset(digits["x_src"], digits["y_src"]), batch_size=64,
                            shuffle=True, transform=AUG)
        trainer = Trainer(model, optim.Adam(model.parameters(), 2e-3), "cross_entropy")
        trainer.fit(loader, epochs=epochs, verbose=0)
        acc = trainer.evaluate((digits["x_src_test"], digits["y_src_test"]))["accuracy"]
    path = tmp_path_factory.mktemp("transfer") / f"pretrained_0to4_{epochs}ep.safetensors"
    io.save(model.state_dict(), path)
    return path, acc


@pytest.fixture(scope="module")
def pretrained(digits, tmp_path_factory):
    """The 5-epoch backbone (the default test's): ``(path, accuracy on the 0-4 test images)``."""
    return _pretrain(digits, 5, tmp_path_factory)


@pytest.fixture(scope="module")
def pretrained_long(digits, tmp_path_factory):
    """The 30-epoch backbone of the slow tests and of docs/transfer_ssl.md's table."""
    return _pretrain(digits, 30, tmp_path_factory)


def test_prefix_loading_of_a_pretrained_backbone(pretrained, digits):
    path, acc = pretrained
    assert acc >= 0.95  # the source task was learned
    state = io.load(path)
    source = make_cnn(5)
    source.load_state_dict(state)
    target = make_cnn(5)
    missing, unexpected = load_pretrained(target.features, path, prefix="features.")
    assert missing == [] and unexpected == []
    x = L.tensor(digits["x_test"][:16])
    source.eval(), target.eval()
    assert np.array_equal(target.features(x).numpy(), source.features(x).numpy())
    assert not np.array_equal(target.classifier[1].weight.numpy(),
                              source.classifier[1].weight.numpy())  # the head was not loaded
    with pytest.raises(KeyError, match="unexpected keys: features.0.weight"):
        load_pretrained(make_cnn(5).features, path)  # whole-model keys need the prefix


# Thresholds sit below the measured figures (docs/transfer_ssl.md) by a margin for draw noise.
GAIN_5EP = 0.01  # 5-epoch backbone, 3 draws: measured median +0.020 (+0.038, +0.020, +0.012)
GAIN_30EP = 0.03  # 30-epoch backbone, 10 draws: measured mean +0.042 (sd 0.020)
GAIN_30EP_AUG = 0.01  # the same, both sides augmented: measured mean +0.020 (sd 0.018)


def _draw(digits, per_class, seed):
    g = np.random.default_rng(seed)
    y = digits["y_tgt"]
    idx = np.concatenate([g.choice(np.flatnonzero(y == c), per_class, replace=False)
                          for c in range(5)])
    return digits["x_tgt"][idx], y[idx]


def _fit_eval(model, x, y, digits, augment):
    """The one recipe both sides get: Adam 2e-3 on every parameter, batch 25, 40 epochs."""
    loader = DataLoader(ArrayDataset(x, y), batch_size=25, shuffle=True,
                        transform=AUG if augment else None)
    trainer = Trainer(model, optim.Adam(model.parameters(), 2e-3), "cross_entropy")
    trainer.fit(loader, epochs=40, verbose=0)
    return trainer.evaluate((digits["x_test"], digits["y_test"]), batch_size=500)["accuracy"]


def _gains(path, digits, augment, seeds):
    """Per-draw gain of fine-tuning over scratch. Both sides get the same label draw, seed,
    recipe (optimizer, learning rate, batch size, epochs, augmentation) and architecture; they
    differ only in the initialisation: random, or the 0-4 network with a fresh head."""
    scratch, tuned = [], []
    with _one_blas_thread():
        for seed in seeds:
            x, y = _draw(digits, 10, seed)
            L.manual_seed(seed)
            scratch.append(_fit_eval(make_cnn(5), x, y, digits, augment))
            L.manual_seed(seed)
            model = make_cnn(5)
            load_pretrained(model, path)  # the whole source network, then a fresh head
            replace_head(model, "classifier.-1", nn.Linear(400, 5))
            tuned.append(_fit_eval(model, x, y, digits, augment))
    gains = np.subtract(tuned, scratch)
    print(f"augment={augment}: scratch {np.round(scratch, 3)}, fine-tuned {np.round(tuned, 3)}, "
          f"gain mean {gains.mean():+.3f} median {np.median(gains):+.3f} sd {gains.std():.3f}")
    return gains


def test_fine_tuning_beats_scratch_with_10_labels_per_class(pretrained, digits):
    # Equal recipes (no augmentation on either side); figures in docs/transfer_ssl.md.
    assert np.median(_gains(pretrained[0], digits, False, range(3))) >= GAIN_5EP


@pytest.mark.slow
def test_longer_pretraining_gains_3_points_with_equal_recipes(pretrained_long, digits):
    path, acc = pretrained_long
    assert acc >= 0.97
    assert _gains(path, digits, False, range(10)).mean() >= GAIN_30EP


@pytest.mark.slow
def test_fine_tuning_beats_scratch_both_augmented(pretrained_long, digits):
    assert _gains(pretrained_long[0], digits, True, range(10)).mean() >= GAIN_30EP_AUG
