"""Learning outcomes on real data (slow): int8 LeNet-5 on mnist5k (PTQ, QAT, size, ONNX
Runtime agreement), pruning (80% global with fine-tuning, 50% structured filters), and
distillation on mnist5k. Measured figures are in docs/deploy.md."""

import copy

import numpy as np
import pytest

import lamina
from lamina import datasets, models, nn
from lamina.deploy import (DistillationLoss, convert_qat, export_onnx, fold_batchnorm,
                           magnitude_prune, make_distillation_step, model_size_bytes,
                           prepare_qat, prune_filters, quantize_static, sparsity_report)
from lamina.train import Trainer

pytestmark = pytest.mark.slow


def _accuracy(model, x, y):
    model.eval()
    with lamina.no_grad():
        out = np.concatenate([model(lamina.tensor(x[i:i + 250])).numpy()
                              for i in range(0, len(x), 250)])
    return float((out.argmax(1) == y).mean()), out


def _fit(model, d, epochs, lr=2e-3, callbacks=()):
    t = Trainer(model, lamina.optim.Adam(model.parameters(), lr=lr), "cross_entropy")
    t.fit((d.x_train, d.y_train), epochs=epochs, batch_size=64, verbose=0,
          callbacks=list(callbacks))
    return model


@pytest.fixture(scope="module")
def mnist():
    return datasets.load("mnist5k")


@pytest.fixture(scope="module")
def lenet(mnist):
    lamina.manual_seed(0)
    return _fit(models.LeNet5(batch_norm=True), mnist, epochs=4)


def test_int8_lenet_ptq_qat_size_and_ort_agreement(lenet, mnist, ort_session):
    d = mnist
    base, _ = _accuracy(lenet, d.x_test, d.y_test)
    assert base >= 0.93
    folded = fold_batchnorm(lenet)
    q = quantize_static(folded, d.x_train, limit=512)
    acc_ptq, q_out = _accuracy(q, d.x_test, d.y_test)
    assert acc_ptq >= base - 0.01
    assert model_size_bytes(lenet) / model_size_bytes(q) >= 3.5
    proto = export_onnx(q, lamina.tensor(d.x_test[:2]))
    ort_out = ort_session(proto).run(None, {"input": d.x_test})[0]
    assert (ort_out.argmax(1) == q_out.argmax(1)).mean() >= 0.99
    lamina.manual_seed(1)
    qat = prepare_qat(lenet)
    _fit(qat, d, epochs=1, lr=5e-4)
    acc_qat, _ = _accuracy(convert_qat(qat), d.x_test, d.y_test)
    agree = (ort_out.argmax(1) == q_out.argmax(1)).mean()
    print(f"\nfloat {base:.4f} ptq {acc_ptq:.4f} qat {acc_qat:.4f} size ratio "
          f"{model_size_bytes(lenet) / model_size_bytes(q):.2f} ORT agreement {agree:.4f}")
    assert acc_qat >= base - 0.005


def test_80_percent_global_sparsity_with_fine_tuning(lenet, mnist):
    d = mnist
    base, _ = _accuracy(lenet, d.x_test, d.y_test)
    m = copy.deepcopy(lenet)
    pr = magnitude_prune(m, 0.8)
    _fit(m, d, epochs=2, lr=5e-4)
    pr.remove()
    assert sparsity_report(m)["total"]["sparsity"] >= 0.8 - 1e-3
    acc, _ = _accuracy(m, d.x_test, d.y_test)
    print(f"\ndense {base:.4f} 80% global sparsity + 2 epochs {acc:.4f}")
    assert acc >= base - 0.01


def test_structured_half_of_filters_after_fine_tuning(lenet, mnist):
    d = mnist
    base, _ = _accuracy(lenet, d.x_test, d.y_test)
    small = prune_filters(lenet, 0.5, lamina.tensor(d.x_test[:2]))
    assert sum(p.array.size for p in small.parameters()) < \
        0.6 * sum(p.array.size for p in lenet.parameters())
    _fit(small, d, epochs=2, lr=1e-3)
    acc, _ = _accuracy(small, d.x_test, d.y_test)
    print(f"\ndense {base:.4f} filters -50% + 2 epochs {acc:.4f}")
    assert acc >= base - 0.02


def _distil(student, x, y, cache, loss, epochs):
    """Train ``student`` on ``(x, y)`` through the distillation step with cached teacher logits;
    the label-only run is the same call with ``DistillationLoss(alpha=0)``."""
    data = lamina.data.TensorDataset(x, y, np.arange(len(x)))
    step = make_distillation_step(None, loss, cache=cache)
    Trainer(student, lamina.optim.Adam(student.parameters(), lr=2e-3), step_fn=step).fit(
        data, epochs=epochs, batch_size=64, verbose=0)
    return student


def test_distilled_student_beats_label_trained_student(mnist):
    """Hinton et al. 2015, section 4 (soft targets as regularizers): a teacher trained on all
    of mnist5k's 4,000 training images, a 13x smaller student trained on 400 of them (10%),
    from the labels alone or from the teacher's T=4 soft targets too."""
    d = mnist
    lamina.manual_seed(0)
    teacher = nn.Sequential(nn.Flatten(), nn.Linear(784, 512), nn.ReLU(), nn.Dropout(0.3),
                            nn.Linear(512, 512), nn.ReLU(), nn.Dropout(0.3), nn.Linear(512, 10))
    _fit(teacher, d, epochs=15, lr=1e-3)
    t_acc, _ = _accuracy(teacher, d.x_test, d.y_test)
    sub = np.random.default_rng(0).permutation(len(d.x_train))[:400]
    x, y = d.x_train[sub], d.y_train[sub]
    _, cache = _accuracy(teacher, x, y)

    def student():
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 64), nn.ReLU(), nn.Linear(64, 10))
    n_t = sum(p.array.size for p in teacher.parameters())
    assert n_t >= 4 * sum(p.array.size for p in student().parameters())
    plain, dist = [], []
    for seed in range(3):   # the two runs differ only in the loss: same seed, data, optimizer
        lamina.manual_seed(seed)
        s = _distil(student(), x, y, cache, DistillationLoss(T=1.0, alpha=0.0), 60)
        plain.append(_accuracy(s, d.x_test, d.y_test)[0])
        lamina.manual_seed(seed)
        s = _distil(student(), x, y, cache, DistillationLoss(T=4.0, alpha=0.9), 60)
        dist.append(_accuracy(s, d.x_test, d.y_test)[0])
    print(f"\nteacher {t_acc:.4f} plain {np.mean(plain):.4f} {plain} distilled "
          f"{np.mean(dist):.4f} {dist}")
    assert t_acc > np.mean(dist) > np.mean(plain) + 0.01
