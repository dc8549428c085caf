"""PRV accountant (Gopi et al. 2021): Opacus 1.6 parity within its error bound, the exact
Gaussian answer at q = 1, tighter than RDP, state and choice through make_private."""

import math

import numpy as np
import pytest

from lamina import nn, optim
from lamina.data import ArrayDataset, DataLoader
from lamina.privacy import (PRVAccountant, RDPAccountant, analytic_gaussian_epsilon,
                            get_noise_multiplier, make_private)

# (noise multiplier, sample rate, steps): short and long runs, small and large epsilon
SETTINGS = [(1.0, 0.01, 1000), (0.8, 0.004, 3000), (2.0, 0.05, 100), (0.6, 0.1, 50)]
MIXED = [(1.0, 0.01, 300), (2.0, 0.02, 200), (1.2, 0.01, 100)]


def _acc(cls, history):
    acc = cls()
    acc.history = list(history)
    return acc


def _opacus_prv_class():
    """Opacus 1.6's own ``accountants/prv.py`` (and the RDP and PRV analysis it imports),
    loaded from its folder as a stand-alone package: only ``IAccountant``, whose module
    imports torch, is replaced by a stub that keeps the ``history`` list."""
    import importlib
    import importlib.util
    import pathlib
    import sys
    import types
    spec = importlib.util.find_spec("opacus")  # finds it without running torch imports
    if spec is None or spec.origin is None:
        pytest.skip("opacus not installed")
    name = "_opacus_accountants_torch_free"
    if name not in sys.modules:
        pkg = types.ModuleType(name)
        pkg.__path__ = [str(pathlib.Path(spec.origin).parent / "accountants")]
        stub = types.ModuleType(name + ".accountant")

        class IAccountant:
            def __init__(self):
                self.history = []
        stub.IAccountant = IAccountant
        sys.modules[name], sys.modules[name + ".accountant"] = pkg, stub
    return importlib.import_module(name + ".prv").PRVAccountant


def _opacus_worst_gap(histories, deltas):
    opacus_prv = _opacus_prv_class()
    worst = 0.0
    for history in histories:
        for delta in deltas:
            ours = _acc(PRVAccountant, history).get_epsilon(delta)
            ref = _acc(opacus_prv, history).get_epsilon(delta)
            worst = max(worst, abs(ours - ref))
    return worst


def test_opacus_prv_parity_within_its_error_bound():
    # Opacus' answer is an upper bound within eps_error = 0.01 of the true PRV epsilon; the
    # same algorithm in float64 lands far closer (measured ~1e-9 against Opacus 1.6.0)
    assert _opacus_worst_gap([MIXED], [1e-5]) <= 0.01  # three segments: FFT + convolution


@pytest.mark.slow  # ~20 s on the shared machine (measured under heavy load)
def test_opacus_prv_parity_over_a_grid():
    assert _opacus_worst_gap([[s] for s in SETTINGS] + [MIXED], [1e-5, 1e-3]) <= 0.01


@pytest.mark.slow  # ~15 s, nearly all of it importing torch on the shared machine
@pytest.mark.torch
def test_opacus_prv_parity_through_the_real_package():
    # the same comparison through ``import opacus`` (torch and all), for one setting
    pytest.importorskip("torch")
    pytest.importorskip("opacus")
    from opacus.accountants import PRVAccountant as OpacusPRV
    ours = _acc(PRVAccountant, [SETTINGS[2]]).get_epsilon(1e-5)
    assert abs(ours - _acc(OpacusPRV, [SETTINGS[2]]).get_epsilon(1e-5)) <= 0.01


@pytest.mark.parametrize("sigma,steps", [(1.0, 1), (2.0, 10)])
def test_full_batch_is_the_exact_gaussian_epsilon(sigma, steps):
    # q = 1 is the Gaussian mechanism: k steps are one Gaussian of multiplier sigma/sqrt(k),
    # whose epsilon is known exactly (Balle & Wang 2018). PRV returns est + eps_error with
    # |est - exact| <= eps_error, so exact <= answer <= exact + 2 eps_error.
    exact = analytic_gaussian_epsilon(sigma, 1e-5, steps)
    for eps_error in (0.01, 0.1):
        got = _acc(PRVAccountant, [(sigma, 1.0, steps)]).get_epsilon(1e-5, eps_error=eps_error)
        assert exact <= got <= exact + 2 * eps_error


@pytest.mark.parametrize("history", [[s] for s in SETTINGS[:2]] + [MIXED])
def test_prv_is_tighter_than_rdp(history):
    prv = _acc(PRVAccountant, history).get_epsilon(1e-5)
    rdp = _acc(RDPAccountant, history).get_epsilon(1e-5)
    assert prv < rdp  # RDP's conversion is loose for many composed steps (~10-20% here)


def test_steps_state_and_edge_cases():
    acc = PRVAccountant()
    assert acc.get_epsilon(1e-5) == 0.0 and acc.mechanism() == "prv"
    for _ in range(3):
        acc.step(noise_multiplier=1.0, sample_rate=0.01)
    acc.step(noise_multiplier=1.5, sample_rate=0.01)
    assert acc.history == [(1.0, 0.01, 3), (1.5, 0.01, 1)] and len(acc) == 2
    back = PRVAccountant()
    back.load_state_dict(acc.state_dict())
    assert back.history == acc.history
    assert back.get_epsilon(1e-5) == acc.get_epsilon(1e-5)
    with pytest.raises(ValueError, match="got 'prv'"):
        RDPAccountant().load_state_dict(acc.state_dict())
    assert _acc(PRVAccountant, [(0.0, 0.1, 5)]).get_epsilon(1e-5) == math.inf
    assert _acc(PRVAccountant, [(1.0, 0.0, 5)]).get_epsilon(1e-5) == 0.0
    with pytest.raises(ValueError, match="0 < delta < 1"):
        acc.get_epsilon(0.0)


def test_make_private_with_the_prv_accountant():
    rs = np.random.default_rng(0)
    x, y = rs.standard_normal((200, 5)).astype(np.float32), rs.integers(0, 3, 200)
    model = nn.Sequential(nn.Linear(5, 3))
    loader = DataLoader(ArrayDataset(x, y), batch_size=20)
    _, opt, _ = make_private(model, optim.SGD(model.parameters(), lr=0.1), loader,
                             target_epsilon=2.0, target_delta=1e-5, epochs=3, accountant="prv")
    assert isinstance(opt.accountant, PRVAccountant)
    sigma_rdp = get_noise_multiplier(target_epsilon=2.0, target_delta=1e-5, sample_rate=0.1,
                                     steps=30)
    assert opt.noise_multiplier < sigma_rdp  # a tighter accountant needs less noise
    opt.accountant.history = [(opt.noise_multiplier, 0.1, 30)]
    assert 2.0 - 0.02 <= opt.accountant.get_epsilon(1e-5) <= 2.0
    with pytest.raises(ValueError, match="accountant in"):
        make_private(model, opt, loader, noise_multiplier=1.0, accountant="gdp")
