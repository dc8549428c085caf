"""A DP run killed and resumed from its checkpoint reports the epsilon and holds the weights of
an uninterrupted run: the accountant's history travels in the DPOptimizer's state."""

import numpy as np
import pytest

import lamina
from lamina import functional as F
from lamina import nn, optim
from lamina.data import ArrayDataset, DataLoader
from lamina.privacy import PrivacyMeter, dp_step, make_private
from lamina.train import Trainer
from lamina.train.callbacks.base import Callback


class _Kill(Callback):
    """Ctrl-C during epoch ``at`` (after its logs, before its checkpoint)."""

    def __init__(self, at):
        self.at = at

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.at:
            raise KeyboardInterrupt


def _run(ckpt, accountant, kill=None):
    lamina.manual_seed(0)
    rs = np.random.default_rng(0)
    x, y = rs.standard_normal((64, 5)).astype(np.float32), rs.integers(0, 3, 64)
    model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 3))
    loader = DataLoader(ArrayDataset(x, y), batch_size=16, shuffle=True)
    model, opt, loader = make_private(
        model, optim.SGD(model.parameters(), lr=0.2, momentum=0.9), loader,
        noise_multiplier=1.0, max_grad_norm=1.0, seed=3, accountant=accountant)
    cbs = [PrivacyMeter(delta=1e-5)] + ([_Kill(kill)] if kill is not None else [])
    trainer = Trainer(model, opt, F.cross_entropy, step_fn=dp_step)
    hist = trainer.fit(loader, epochs=4, verbose=0, callbacks=cbs, checkpoint=str(ckpt),
                       resume=True)
    return [p.numpy().copy() for p in model.parameters()], hist.history["epsilon"], opt


@pytest.mark.parametrize("accountant", ["rdp", "prv"])
def test_killed_and_resumed_dp_run_equals_an_uninterrupted_one(tmp_path, accountant):
    w_ref, eps_ref, opt_ref = _run(tmp_path / "ref.ckpt", accountant)
    with pytest.raises(KeyboardInterrupt):
        _run(tmp_path / "cut.ckpt", accountant, kill=2)  # checkpoint holds epochs 1-2
    saved = lamina.io.load_checkpoint(tmp_path / "cut.ckpt")
    assert saved["epoch"] == 2
    w, eps, opt = _run(tmp_path / "cut.ckpt", accountant)  # a new process would do the same
    assert opt.accountant.history == opt_ref.accountant.history == [(1.0, 0.25, 16)]
    assert eps == eps_ref and eps[0] < eps[-1]
    assert opt.accountant.get_epsilon(1e-5) == opt_ref.accountant.get_epsilon(1e-5)
    assert all(np.array_equal(a, b) for a, b in zip(w, w_ref))


def test_optimizer_state_carries_the_accountant_and_plain_states_still_load():
    lin = nn.Linear(3, 2)
    loader = DataLoader(ArrayDataset(np.zeros((10, 3), np.float32), np.zeros(10, np.int64)),
                        batch_size=5)
    _, opt, _ = make_private(lin, optim.SGD(lin.parameters(), lr=0.1), loader,
                             noise_multiplier=1.0)
    for _ in range(3):
        opt.accountant.step(noise_multiplier=1.0, sample_rate=0.5)
    state = opt.state_dict()
    assert state["privacy_accountant"] == {"history": [[1.0, 0.5, 3]], "mechanism": "rdp"}
    _, fresh, _ = make_private(lin, optim.SGD(lin.parameters(), lr=0.1), loader,
                               noise_multiplier=1.0)
    fresh.load_state_dict(state)
    assert fresh.accountant.history == [(1.0, 0.5, 3)]
    fresh.load_state_dict(optim.SGD(lin.parameters(), lr=0.1).state_dict())  # no accountant
    assert fresh.accountant.history == [(1.0, 0.5, 3)]
    _, prv, _ = make_private(lin, optim.SGD(lin.parameters(), lr=0.1), loader,
                             noise_multiplier=1.0, accountant="prv")
    with pytest.raises(ValueError, match="got 'rdp'"):
        prv.load_state_dict(state)
