"""Properties that need no oracle: IG completeness on a linear model, NoiseTunnel's
statistics, GradientShap's expectation, float32 in -> float32 out, targets and errors."""

import numpy as np
import pytest

import lamina
from lamina import nn
from lamina.explain import (GradientShap, InputXGradient, IntegratedGradients, NoiseTunnel,
                            Saliency, approximation_parameters)

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _linear():
    lamina.manual_seed(0)
    return nn.Linear(5, 3).double()


@pytest.mark.parametrize("method", ["gausslegendre", "riemann_left", "riemann_middle"])
def test_ig_is_exact_on_a_linear_model(method):
    lin = _linear()
    x = np.random.default_rng(0).standard_normal((6, 5))
    attr, delta = IntegratedGradients(lin).attribute(x, baselines=0.5, target=2, n_steps=7,
                                                     method=method,
                                                     return_convergence_delta=True)
    np.testing.assert_allclose(delta, 0, atol=1e-6)
    np.testing.assert_allclose(attr.numpy(), (x - 0.5) * lin.weight.numpy()[2], atol=1e-12)


def test_trapezoid_weights_follow_captum_not_the_textbook():
    steps, alphas = approximation_parameters("riemann_trapezoid", 5)
    np.testing.assert_allclose(steps, [0.1, 0.2, 0.2, 0.2, 0.1])  # sums to 0.8, not 1
    np.testing.assert_allclose(alphas, np.linspace(0, 1, 5))


def test_noise_tunnel_statistics_and_float32():
    lin = nn.Linear(4, 2)
    x = np.random.default_rng(1).standard_normal((3, 4)).astype(np.float32)
    sg = NoiseTunnel(Saliency(lin)).attribute(x, nt_samples=4, stdevs=0.5, target=1)
    assert sg.dtype == np.float32 and sg.shape == x.shape
    # a linear model's gradient does not depend on x: smoothgrad = |w|, vargrad = 0
    np.testing.assert_allclose(sg.numpy(), np.abs(lin.weight.numpy()[1])[None].repeat(3, 0),
                               rtol=1e-6)
    vg = NoiseTunnel(Saliency(lin)).attribute(x, nt_type="vargrad", nt_samples=4, target=1)
    np.testing.assert_allclose(vg.numpy(), 0, atol=1e-6)
    ix = NoiseTunnel(InputXGradient(lin)).attribute(x, nt_type="smoothgrad_sq", nt_samples=3,
                                                    nt_samples_batch_size=2, target=[0, 1, 0])
    assert (ix.numpy() >= 0).all()


def test_gradient_shap_is_efficient_in_expectation_on_a_linear_model():
    lin = _linear()
    x = np.random.default_rng(2).standard_normal((4, 5))
    bg = np.random.default_rng(3).standard_normal((10, 5))
    a, delta = GradientShap(lin).attribute(x, bg, target=0, n_samples=20,
                                           return_convergence_delta=True)
    np.testing.assert_allclose(delta, 0, atol=1e-10)  # linear: every draw is complete
    assert a.shape == x.shape


def test_target_errors_name_the_problem():
    lin = _linear()
    with pytest.raises(ValueError, match="one target per row"):
        Saliency(lin).attribute(np.zeros((4, 5)), target=[0, 1, 2])
    with pytest.raises(ValueError, match="target=None only for a model with one output"):
        Saliency(lin).attribute(np.zeros((4, 5)))
    with pytest.raises(ValueError, match="IntegratedGradients: expected method"):
        IntegratedGradients(lin).attribute(np.zeros((2, 5)), target=0, method="simpson")


def test_infidelity_and_sensitivity_are_zero_for_a_linear_models_gradient():
    from lamina.explain import infidelity, sensitivity_max
    lin = _linear()
    x = np.random.default_rng(4).standard_normal((5, 5))
    grad = Saliency(lin).attribute(x, target=1, abs=False).numpy()
    np.testing.assert_allclose(infidelity(lin, None, x, grad, target=1), 0, atol=1e-20)
    assert (infidelity(lin, None, x, grad * 3, target=1) > 1e-4).all()
    sal = Saliency(lin).attribute
    np.testing.assert_allclose(sensitivity_max(sal, x, target=1), 0, atol=1e-12)


@pytest.mark.torch
def test_infidelity_and_sensitivity_match_captum_metrics(cnn_pair):
    cm = pytest.importorskip("captum.metrics")
    import torch
    model, tm, x = cnn_pair
    attr = Saliency(model).attribute(x, target=[0, 1, 2, 3], abs=False).numpy()

    def perturb(inp):  # deterministic, so both libraries see the same perturbations
        arr = inp.detach().numpy() if hasattr(inp, "detach") else np.asarray(inp)
        noise = 0.05 * np.sin(np.arange(arr.size).reshape(arr.shape))
        return (torch.from_numpy(noise), torch.from_numpy(arr - noise)) if hasattr(
            inp, "detach") else (noise, arr - noise)

    from lamina.explain import infidelity, sensitivity_max
    ours = infidelity(model, perturb, x, attr, target=[0, 1, 2, 3], n_perturb_samples=3)
    ref = cm.infidelity(tm, perturb, torch.from_numpy(x), torch.from_numpy(attr),
                        target=[0, 1, 2, 3], n_perturb_samples=3)
    np.testing.assert_allclose(ours, ref.numpy(), rtol=1e-5)

    def shift(inp):
        arr = inp.detach().numpy() if hasattr(inp, "detach") else np.asarray(inp)
        out = arr + 0.01 * np.cos(np.arange(arr.size).reshape(arr.shape))
        return torch.from_numpy(out) if hasattr(inp, "detach") else out

    import captum.attr as ca
    ours = sensitivity_max(Saliency(model).attribute, x, perturb_func=shift,
                           n_perturb_samples=2, target=[0, 1, 2, 3])
    ref = cm.sensitivity_max(ca.Saliency(tm).attribute, torch.from_numpy(x),
                             perturb_func=shift, n_perturb_samples=2, target=[0, 1, 2, 3])
    np.testing.assert_allclose(ours, ref.numpy(), rtol=1e-5)


def test_gradcam_plus_plus_is_a_nonnegative_layer_map(cnn_pair):
    from lamina.explain import LayerGradCamPlusPlus
    model, _, x = cnn_pair
    cam = LayerGradCamPlusPlus(model, model[3]).attribute(x, target=[0, 1, 2, 3]).numpy()
    assert cam.shape == (4, 1, 4, 4) and (cam >= 0).all() and cam.max() > 0


class _LSTMClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(3, 5, batch_first=True)
        self.fc = nn.Linear(5, 2)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.fc(out[:, -1])


def test_gradient_methods_explain_a_recurrent_model():
    lamina.manual_seed(0)
    model = _LSTMClassifier().double()  # left in train mode: explainers must not switch it
    x = np.random.default_rng(5).standard_normal((4, 6, 3))
    attr, delta = IntegratedGradients(model).attribute(x, target=1, n_steps=16,
                                                       return_convergence_delta=True)
    assert attr.shape == x.shape and np.abs(delta).max() < 1e-8  # smooth model: IG converges
    g = Saliency(model).attribute(x, target=[0, 1, 0, 1], abs=False).numpy()
    e = np.zeros_like(x)
    e[2, 3, 1] = 1e-6  # central difference of one input of row 2 (target 0)
    with lamina.no_grad():
        hi, lo = (model(lamina.tensor(x + s * e)).numpy()[2, 0] for s in (1, -1))
    assert g[2, 3, 1] == pytest.approx((hi - lo) / 2e-6, rel=1e-6, abs=1e-9)
    assert model.training and all(p.grad is None for p in model.parameters())
    x32 = x.astype(np.float32)
    assert InputXGradient(_LSTMClassifier()).attribute(x32, target=0).numpy().dtype == np.float32
