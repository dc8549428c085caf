"""Learning outcomes on real data (digits fast; mnist5k and the longer trainings `slow`, their
figures in docs/robustness.md). Models and settings match examples/adversarial_mnist.py."""

import pytest

import lamina
from lamina import datasets, nn
from lamina import robust as R
from lamina.optim import Adam
from lamina.train import Trainer


def _mlp(n_in, hidden=256):
    return nn.Sequential(nn.Flatten(), nn.Linear(n_in, hidden), nn.ReLU(), nn.Linear(hidden, 10))


def _fit(model, data, step=None, epochs=10, lr=1e-3, batch_size=64):
    Trainer(model, Adam(model.parameters(), lr), "cross_entropy", step_fn=step).fit(
        data, epochs=epochs, batch_size=batch_size, verbose=0)
    return model.eval()


def _pgd(model, eps, steps=20, **kw):
    return R.PGD(model, eps=eps, alpha=2.5 * eps / steps, steps=steps, **kw)


@pytest.fixture(scope="module")
def digits():
    return datasets.load("digits")


@pytest.fixture(scope="module")
def digits_std(digits):
    lamina.manual_seed(0)
    return _fit(_mlp(64, 128), (digits.x_train, digits.y_train), epochs=10, lr=2e-3,
                batch_size=32)


def test_standard_mlp_falls_to_pgd_and_transfer_is_weaker(digits, digits_std):
    x, y = digits.x_test, digits.y_test
    model = digits_std
    assert R.robust_accuracy(model, None, (x, y)) >= 0.93
    assert R.robust_accuracy(model, _pgd(model, 0.3, 40), (x, y)) <= 0.05
    lamina.manual_seed(1)  # a surrogate trained separately (other init and data order)
    sur = _fit(_mlp(64, 64), (digits.x_train, digits.y_train), epochs=10, lr=2e-3,
               batch_size=32)
    white = R.robust_accuracy(model, _pgd(model, 0.1), (x, y))
    transfer = R.robust_accuracy(model, R.TransferAttack(sur, _pgd(sur, 0.1)), (x, y))
    assert transfer >= white + 0.02, (transfer, white)  # measured 0.558 vs 0.514


@pytest.mark.slow
def test_cnn_falls_to_pgd40_on_mnist5k():
    d = datasets.load("mnist5k")
    cnn = nn.Sequential(nn.Conv2d(1, 8, 5, stride=2, padding=2), nn.ReLU(),
                        nn.Conv2d(8, 16, 5, stride=2, padding=2), nn.ReLU(), nn.Flatten(),
                        nn.Linear(16 * 7 * 7, 10))
    model = _fit(cnn, (d.x_train, d.y_train), epochs=6)
    x, y = d.x_test[:500], d.y_test[:500]
    assert R.robust_accuracy(model, None, (x, y)) >= 0.9
    assert R.robust_accuracy(model, R.PGD(model, eps=0.3, alpha=0.01, steps=40), (x, y)) <= 0.05


@pytest.mark.slow
def test_pgd_and_trades_training_lift_pgd20_accuracy_on_mnist5k():
    d = datasets.load("mnist5k")
    data, x, y = (d.x_train, d.y_train), d.x_test[:500], d.y_test[:500]
    std = _fit(_mlp(784), data)
    adv = _fit(_mlp(784), data, R.adversarial_training("pgd", eps=0.1, steps=7))
    trades = _fit(_mlp(784), data, R.adversarial_training("trades", eps=0.1, steps=7))
    clean = {k: R.robust_accuracy(m, None, (x, y)) for k, m in
             (("std", std), ("pgd", adv), ("trades", trades))}
    rob = {k: R.robust_accuracy(m, _pgd(m, 0.1), (x, y)) for k, m in
           (("std", std), ("pgd", adv), ("trades", trades))}
    print("clean", clean, "PGD-20 @0.1", rob)
    assert rob["pgd"] >= rob["std"] + 0.40
    assert clean["pgd"] >= clean["std"] - 0.03
    assert rob["trades"] >= rob["std"] + 0.30


@pytest.mark.slow
def test_ibp_training_certifies_half_of_mnist5k_at_eps_01():
    d = datasets.load("mnist5k")
    x, y = d.x_test[:500], d.y_test[:500]
    model = _fit(_mlp(784), (d.x_train, d.y_train),
                 R.ibp_training(R.IBPSchedule(0.11, warmup=60, ramp=300)))
    cert = R.certified_accuracy(model, x, y, 0.1)
    attacked = R.robust_accuracy(model, _pgd(model, 0.1), (x, y))
    print("IBP certified", cert, "PGD-20", attacked)
    assert cert >= 0.5 and cert <= attacked


@pytest.mark.slow
def test_randomized_smoothing_certifies_digits_at_l2_radii(digits):
    model = _fit(_mlp(64, 128), (digits.x_train, digits.y_train),
                 R.gaussian_augmentation(0.25), epochs=30, lr=2e-3, batch_size=32)
    x, y = digits.x_test[:100], digits.y_test[:100]
    pred, radius = R.RandomizedSmoothing(model, sigma=0.25).certify(x, n0=50, n=500)
    acc = R.RandomizedSmoothing.certified_accuracy(pred, radius, y, [0.0, 0.25, 0.5])
    print("smoothing certified accuracy at 0/0.25/0.5:", acc)
    assert acc[0] >= 0.8 and acc[1] >= 0.6 and acc[2] >= 0.25  # measured 0.97, 0.82, 0.33
    assert acc[0] >= acc[1] >= acc[2]


@pytest.mark.slow
def test_distillation_and_randomization_fall_to_adaptive_attacks(digits, digits_std):
    x, y = digits.x_test, digits.y_test
    student = R.defensive_distillation(digits_std, _mlp(64, 128), digits.x_train, T=100,
                                       epochs=20, lr=2e-3)
    naive = R.robust_accuracy(student, _pgd(student, 0.2), (x, y))
    adaptive = R.robust_accuracy(student, _pgd(R.TemperatureScaled(student, 100), 0.2), (x, y))
    plain = R.robust_accuracy(digits_std, _pgd(digits_std, 0.2), (x, y))
    print("distilled: naive PGD", naive, "PGD on logits/T", adaptive, "undefended", plain)
    # distillation buys nothing against the better of the two attacks (measured 0.028, 0.144;
    # undefended 0.017), and the report's ladder does not call it robust
    assert min(naive, adaptive) <= plain + 0.05
    rep = R.robustness_report(student, (x[:200], y[:200]), [0.1, 0.2], steps=10,
                              square_queries=100)
    assert rep.worst[-1] <= 0.1
    # input randomization: the true derivative of the quantizer is zero (the attack "fails"),
    # BPDA + EOT goes through it
    tf = [R.RandomResizePad(0.8), R.BitDepthReduction(3)]
    masked = R.Defended(digits_std, tf, n_samples=4)
    bpda = R.Defended(digits_std, tf, n_samples=4, bpda=True)
    naive = R.robust_accuracy(masked, _pgd(masked, 0.2), (x, y))
    eot = R.robust_accuracy(masked, R.TransferAttack(bpda, R.EOTPGD(bpda, eps=0.2, alpha=0.025,
                                                                    steps=20, eot_iter=4)),
                            (x, y))
    print("randomized: naive PGD", naive, "BPDA+EOT", eot)
    assert eot <= 0.15 and eot < naive - 0.3
