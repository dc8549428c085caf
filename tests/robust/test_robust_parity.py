"""FGSM, BIM, PGD and PGDL2 (no random start) equal torchattacks 3.5.1's images to 1e-5 on a
float64 PyTorch twin with copied weights; MIFGSM and DeepFool too."""

import numpy as np
import pytest

import lamina
from lamina import nn
from lamina import robust as R


def _lamina_cnn():
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(4 * 4 * 4, 16), nn.ReLU(), nn.Linear(16, 5))


def _twin(lam):
    import torch
    tnn = torch.nn
    tm = tnn.Sequential(tnn.Conv2d(1, 4, 3, padding=1), tnn.ReLU(), tnn.MaxPool2d(2),
                        tnn.Flatten(), tnn.Linear(64, 16), tnn.ReLU(), tnn.Linear(16, 5))
    tm.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in
                        lam.state_dict().items()})
    return tm.double().eval()


@pytest.fixture
def setup():
    torch = pytest.importorskip("torch")
    pytest.importorskip("torchattacks")
    torch.set_num_threads(1)  # small tensors: extra threads only spin on a shared machine
    lamina.set_default_dtype("float64")
    lam = _lamina_cnn()
    tm = _twin(lam)
    rs = np.random.default_rng(0)
    x = rs.random((12, 1, 8, 8))
    y = rs.integers(0, 5, 12)
    return torch, lam, tm, x, y


CASES = [
    ("FGSM", dict(eps=0.1)),
    ("BIM", dict(eps=0.1, alpha=0.02, steps=7)),
    ("PGD", dict(eps=0.1, alpha=0.02, steps=7, random_start=False)),
    ("PGDL2", dict(eps=0.8, alpha=0.2, steps=7, random_start=False)),
    ("MIFGSM", dict(eps=0.1, alpha=0.02, steps=5)),
]


@pytest.mark.torch
@pytest.mark.parametrize("name,kw", CASES, ids=[c[0] for c in CASES])
def test_attack_matches_torchattacks(setup, name, kw):
    torch, lam, tm, x, y = setup
    import torchattacks
    ref = getattr(torchattacks, name)(tm, **kw)(torch.from_numpy(x), torch.from_numpy(y))
    ours = getattr(R, name)(lam, **kw)(x, y)
    assert ours.dtype == np.float64
    np.testing.assert_allclose(ours, ref.numpy(), atol=1e-5, rtol=0)
    assert np.abs(ours - x).max() > 0.01  # the attack moved the images


@pytest.mark.torch
def test_targeted_pgd_matches_torchattacks(setup):
    torch, lam, tm, x, y = setup
    import torchattacks
    kw = dict(eps=0.1, alpha=0.02, steps=5, random_start=False)
    ta = torchattacks.PGD(tm, **kw)
    ta.set_mode_targeted_by_label(quiet=True)
    tgt = (y + 1) % 5
    ref = ta(torch.from_numpy(x), torch.from_numpy(tgt)).numpy()
    ours = R.PGD(lam, **kw).set_mode_targeted_by_label()(x, tgt)
    np.testing.assert_allclose(ours, ref, atol=1e-5, rtol=0)


@pytest.mark.torch
def test_deepfool_matches_torchattacks(setup):
    torch, lam, tm, x, y = setup
    import torchattacks
    y = tm(torch.from_numpy(x)).argmax(1).numpy()
    ref = torchattacks.DeepFool(tm, steps=10, overshoot=0.02)(torch.from_numpy(x),
                                                               torch.from_numpy(y))
    ours = R.DeepFool(lam, steps=10, overshoot=0.02)(x, y)
    np.testing.assert_allclose(ours, ref.numpy(), atol=1e-5, rtol=0)
