"""Pruning mechanics (masks through training, schedules, rewinding, structured shapes) and the
distillation loss (fast; outcomes on real data are in test_deploy_studies.py)."""

import numpy as np
import pytest

import lamina
from lamina import models, nn
from lamina.deploy import (DistillationLoss, GradualPruning, LotteryTicket, count_parameters,
                           magnitude_prune, make_distillation_step, polynomial_sparsity,
                           prune_filters, sparsity_report)
from lamina.train import Trainer


def _mlp():
    lamina.manual_seed(0)
    return nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 4))


def _data(n=64):
    x = lamina.randn(n, 10)
    return x, lamina.tensor(np.arange(n) % 4)


def test_global_and_layerwise_magnitude():
    m = _mlp()
    pr = magnitude_prune(m, 0.75)
    rep = sparsity_report(m)
    assert abs(rep["total"]["sparsity"] - 0.75) < 0.01
    w = np.concatenate([m[0].weight.numpy().ravel(), m[2].weight.numpy().ravel()])
    kept = np.abs(w[w != 0])
    assert kept.min() >= np.sort(np.abs(w))[int(0.75 * w.size) - 1]  # smallest ones went
    m2 = _mlp()
    magnitude_prune(m2, 0.5, scope="layer")
    assert all(abs(r["sparsity"] - 0.5) < 0.02 for r in sparsity_report(m2)["layers"])
    pr.remove()
    assert not pr.handles


def test_masks_survive_training():
    m = _mlp()
    pr = magnitude_prune(m, 0.8)
    masks = {k: v.copy() for k, v in pr.masks.items()}
    t = Trainer(m, lamina.optim.SGD(m.parameters(), lr=0.1, momentum=0.9), "cross_entropy")
    t.fit(_data(), epochs=3, batch_size=16, verbose=0)
    pr.apply()
    for name, layer in pr.layers:
        assert (layer.weight.numpy()[~masks[name]] == 0).all()
    assert sparsity_report(m)["total"]["sparsity"] >= 0.8 - 1e-3


def test_polynomial_schedule_and_callback():
    vals = [polynomial_sparsity(t, 0.9, 0, 10) for t in range(12)]
    assert vals[0] == 0.0 and vals[10] == vals[11] == 0.9
    assert all(b >= a for a, b in zip(vals, vals[1:]))
    assert vals[5] == pytest.approx(0.9 * (1 - 0.5 ** 3))
    m = _mlp()
    cb = GradualPruning(0.8, begin=0, end=3)
    Trainer(m, lamina.optim.SGD(m.parameters(), lr=0.05), "cross_entropy").fit(
        _data(), epochs=4, batch_size=32, verbose=0, callbacks=[cb])
    assert [round(s, 4) for _, s in cb.schedule][-1] == 0.8
    cb.pruner.apply()
    assert sparsity_report(m)["total"]["sparsity"] == pytest.approx(0.8, abs=0.01)


def test_lottery_ticket_rewinds_surviving_weights():
    m = _mlp()
    ticket = LotteryTicket(m)
    init = m[0].weight.numpy().copy()
    Trainer(m, lamina.optim.SGD(m.parameters(), lr=0.1), "cross_entropy").fit(
        _data(), epochs=2, batch_size=16, verbose=0)
    pr = magnitude_prune(m, 0.6)
    ticket.rewind(pr)
    w = m[0].weight.numpy()
    mask = pr.masks["0"]
    np.testing.assert_array_equal(w[mask], init[mask])
    assert (w[~mask] == 0).all()


def test_structured_filter_pruning_shapes_and_size():
    lamina.manual_seed(0)
    m = models.LeNet5(batch_norm=True).eval()
    x = lamina.randn(3, 1, 28, 28)
    small = prune_filters(m, 0.5, x)
    assert small.features[0].out_channels == 3 and small.features[4].in_channels == 3
    assert small.features[4].out_channels == 8 and small.features[5].num_features == 8
    assert small.classifier[1].in_features == 8 * 5 * 5
    assert count_parameters(small) < 0.6 * count_parameters(m)
    assert small(x).shape == (3, 10)
    assert m.features[0].out_channels == 6          # original untouched


def test_structured_pruning_keeps_the_strongest_filters():
    lamina.manual_seed(0)
    m = models.LeNet5().eval()
    w = m.features[0].weight.array
    w[[1, 4]] *= 10.0                              # two clearly strongest filters
    small = prune_filters(m, 0.67)
    np.testing.assert_allclose(small.features[0].weight.numpy(), w[[1, 4]])


def test_distillation_loss_formula():
    rs = np.random.default_rng(0)
    s = lamina.tensor(rs.standard_normal((5, 4)).astype(np.float32), requires_grad=True)
    t = lamina.tensor(rs.standard_normal((5, 4)).astype(np.float32))
    y = lamina.tensor(np.array([0, 1, 2, 3, 0]))
    T, a = 3.0, 0.7
    got = DistillationLoss(T, a)(s, t, y).item()

    def logsm(z):
        z = z - z.max(1, keepdims=True)
        return z - np.log(np.exp(z).sum(1, keepdims=True))
    pt = np.exp(logsm(t.numpy() / T))
    kl = (pt * (np.log(pt) - logsm(s.numpy() / T))).sum() / 5
    ce = -logsm(s.numpy())[np.arange(5), y.numpy()].mean()
    assert got == pytest.approx(a * T * T * kl + (1 - a) * ce, rel=1e-5)
    with pytest.raises(ValueError, match="alpha"):
        DistillationLoss(2.0, 1.5)


@pytest.mark.torch
def test_distillation_loss_matches_torch_recipe():
    torch = pytest.importorskip("torch")
    rs = np.random.default_rng(1)
    s, t = rs.standard_normal((6, 5)), rs.standard_normal((6, 5))
    y = np.arange(6) % 5
    ls = lamina.tensor(s.astype(np.float32), requires_grad=True)
    loss = DistillationLoss(4.0, 0.5)(ls, lamina.tensor(t.astype(np.float32)), lamina.tensor(y))
    loss.backward()
    ts = torch.tensor(s, requires_grad=True)
    tf = torch.nn.functional
    ref = 0.5 * 16 * tf.kl_div(tf.log_softmax(ts / 4, -1), tf.softmax(torch.tensor(t) / 4, -1),
                               reduction="batchmean") + 0.5 * tf.cross_entropy(ts,
                                                                              torch.tensor(y))
    ref.backward()
    assert loss.item() == pytest.approx(ref.item(), rel=1e-5)
    np.testing.assert_allclose(ls.grad.numpy(), ts.grad.numpy(), atol=1e-6)


def test_distillation_step_with_teacher_and_cache():
    teacher, student = _mlp(), nn.Sequential(nn.Linear(10, 4))
    x, y = _data()
    step = make_distillation_step(teacher, DistillationLoss(2.0, 0.5))
    h = Trainer(student, lamina.optim.Adam(student.parameters(), lr=0.01), step_fn=step).fit(
        (x, y), epochs=3, batch_size=16, verbose=0)
    assert h.history["loss"][-1] < h.history["loss"][0]
    cache = teacher(x).numpy()
    step2 = make_distillation_step(None, DistillationLoss(2.0, 1.0), cache=cache)
    out = step2(type("T", (), {"optimizer": lamina.optim.SGD(student.parameters(), lr=0.0),
                               "model": student, "grad_clip": None})(),
                (x[:4], y[:4], lamina.tensor(np.arange(4))))
    ref = DistillationLoss(2.0, 1.0)(student(x[:4]), teacher(x[:4]), y[:4]).item()
    assert out["loss"] == pytest.approx(ref, rel=1e-5)
