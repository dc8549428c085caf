"""LRP: Captum 0.9 parity per rule on a PyTorch twin, and conservation layer by layer."""

import numpy as np
import pytest

import lamina
from lamina import nn
from lamina.explain import LRP, Alpha1_Beta0_Rule, EpsilonRule, GammaRule

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _mlp(bias=True):
    lamina.manual_seed(3)
    return nn.Sequential(nn.Linear(6, 8, bias=bias), nn.ReLU(), nn.Linear(8, 5, bias=bias),
                         nn.ReLU(), nn.Linear(5, 3, bias=bias)).double().eval()


@pytest.mark.torch
@pytest.mark.parametrize("rules", ["eps", "mixed"])
def test_lrp_matches_captum(rules):
    ca = pytest.importorskip("captum.attr")
    from captum.attr._utils import lrp_rules as cr
    import torch
    from explain_twins import torch_twin
    model = _mlp()
    tm = torch_twin(model)
    if rules == "mixed":
        model[0].rule, tm[0].rule = GammaRule(0.25), cr.GammaRule(0.25)
        model[2].rule, tm[2].rule = EpsilonRule(0.1), cr.EpsilonRule(0.1)
        model[4].rule, tm[4].rule = Alpha1_Beta0_Rule(), cr.Alpha1_Beta0_Rule()
    x = np.random.default_rng(0).standard_normal((4, 6))
    rel, d = LRP(model).attribute(x, target=[0, 1, 2, 1], return_convergence_delta=True)
    ref, rd = ca.LRP(tm).attribute(torch.from_numpy(x), target=[0, 1, 2, 1],
                                   return_convergence_delta=True)
    np.testing.assert_allclose(rel.numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-9)
    np.testing.assert_allclose(d, rd.detach().numpy(), rtol=1e-5, atol=1e-9)
    w0 = model[0].weight.numpy().copy()
    LRP(model).attribute(x, target=0)
    np.testing.assert_array_equal(model[0].weight.numpy(), w0)  # weights restored


def test_lrp_epsilon_conserves_relevance_at_each_layer():
    model = _mlp(bias=False)
    x = np.random.default_rng(1).standard_normal((8, 6))
    for depth in (1, 3, 5):  # relevance reaching the input of each prefix network
        sub = nn.Sequential(*list(model)[len(model) - depth:])
        # the input of the sub-network is the activation entering its first layer
        h = lamina.tensor(x)
        for m in list(model)[:len(model) - depth]:
            h = m(h)
        h = h.numpy()
        out = sub(lamina.tensor(h)).numpy()[:, 1]
        rel = LRP(sub).attribute(h, target=1).numpy()
        np.testing.assert_allclose(rel.sum(1), out, rtol=1e-6, atol=1e-9)


def test_lrp_layer_rules_by_type_equal_rules_set_per_module():
    x = np.random.default_rng(2).standard_normal((4, 6))
    by_module = _mlp()
    for i in (0, 2, 4):
        by_module[i].rule = GammaRule(0.25)
    by_module[4].rule = EpsilonRule(0.1)
    want = LRP(by_module).attribute(x, target=1).numpy()
    by_type = _mlp()
    by_type[4].rule = EpsilonRule(0.1)  # a module's own rule wins over its type's
    got = LRP(by_type, layer_rules={nn.Linear: GammaRule(0.25)}).attribute(x, target=1)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-12)
    plain = LRP(_mlp()).attribute(x, target=1).numpy()  # the rules do change the result
    assert np.abs(plain - want).max() > 1e-3
    with pytest.raises(TypeError, match="layer_rules as"):
        LRP(by_type, layer_rules={nn.Linear: "gamma"})
