"""Gradient methods give Captum 0.9's numbers on a PyTorch twin with copied weights (float64)."""

import numpy as np
import pytest

from lamina.explain import (Deconvolution, GuidedBackprop, InputXGradient, IntegratedGradients,
                            Saliency)

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

TARGET = [0, 3, 7, 9]


def _captum(name):
    pytest.importorskip("captum")
    import captum.attr as ca
    return getattr(ca, name)


def _t(x):
    import torch
    return torch.from_numpy(np.ascontiguousarray(x))


@pytest.mark.torch
@pytest.mark.parametrize("name,kw", [("Saliency", {}), ("Saliency", {"abs": False}),
                                     ("InputXGradient", {}), ("GuidedBackprop", {}),
                                     ("Deconvolution", {})])
def test_simple_gradient_methods_match_captum(cnn_pair, name, kw):
    model, tm, x = cnn_pair
    ours = {"Saliency": Saliency, "InputXGradient": InputXGradient,
            "GuidedBackprop": GuidedBackprop, "Deconvolution": Deconvolution}[name]
    a = ours(model).attribute(x, target=TARGET, **kw).numpy()
    ref = _captum(name)(tm).attribute(_t(x), target=TARGET, **kw).detach().numpy()
    assert a.shape == x.shape and a.dtype == np.float64
    np.testing.assert_allclose(a, ref, rtol=1e-5, atol=1e-8)


@pytest.mark.torch
@pytest.mark.parametrize("method", ["riemann_left", "riemann_right", "riemann_middle",
                                    "riemann_trapezoid", "gausslegendre"])
def test_integrated_gradients_every_method_matches_captum(cnn_pair, method):
    model, tm, x = cnn_pair
    base = np.full_like(x, 0.1)
    a, d = IntegratedGradients(model).attribute(x, base, target=TARGET, n_steps=20,
                                                method=method, internal_batch_size=24,
                                                return_convergence_delta=True)
    ref, rd = _captum("IntegratedGradients")(tm).attribute(
        _t(x), _t(base), target=TARGET, n_steps=20, method=method,
        return_convergence_delta=True)
    np.testing.assert_allclose(a.numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(d, rd.detach().numpy(), rtol=1e-5, atol=1e-7)


def test_model_state_is_left_alone(cnn_pair):
    model, _, x = cnn_pair
    model.train()
    flags = [p.requires_grad for p in model.parameters()]
    IntegratedGradients(model).attribute(x, target=1, n_steps=4)
    GuidedBackprop(model).attribute(x, target=1)
    assert model.training and flags == [p.requires_grad for p in model.parameters()]
    assert all(p.grad is None for p in model.parameters())
    assert not any(m._forward_hooks for m in model.modules())


@pytest.mark.torch
@pytest.mark.parametrize("pool", [True, False])
def test_deeplift_matches_captum(pool):
    import lamina
    from explain_twins import lamina_cnn, torch_twin
    from lamina.explain import DeepLift
    lamina.manual_seed(1)
    model = lamina_cnn(pool=pool).double().eval()
    tm = torch_twin(model)
    x = np.random.default_rng(2).standard_normal((4, 1, 8, 8))
    base = np.random.default_rng(3).standard_normal((4, 1, 8, 8)) * 0.1
    a, d = DeepLift(model).attribute(x, base, target=TARGET, return_convergence_delta=True)
    ref, rd = _captum("DeepLift")(tm).attribute(_t(x), _t(base), target=TARGET,
                                               return_convergence_delta=True)
    np.testing.assert_allclose(a.numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(d, rd.detach().numpy(), atol=1e-7)
    # with every rule applied (captum_hooks=False) the rescale rule is complete, pool or not;
    # Captum drops the pool's rule after a ReLU module, so its delta is not 0 with a pool
    _, d2 = DeepLift(model, captum_hooks=False).attribute(x, base, target=TARGET,
                                                          return_convergence_delta=True)
    np.testing.assert_allclose(d2, 0, atol=1e-8)
    if not pool:
        np.testing.assert_allclose(d, 0, atol=1e-8)


@pytest.mark.torch
@pytest.mark.parametrize("relu", [False, True])
def test_layer_gradcam_and_interpolate_match_captum(cnn_pair, relu):
    from lamina.explain import LayerAttribution, LayerGradCam
    model, tm, x = cnn_pair
    cam = LayerGradCam(model, model[3]).attribute(x, target=TARGET, relu_attributions=relu)
    ref = _captum("LayerGradCam")(tm, tm[3]).attribute(_t(x), target=TARGET,
                                                      relu_attributions=relu)
    np.testing.assert_allclose(cam.numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-9)
    assert cam.shape == (4, 1, 4, 4)
    la = _captum("LayerAttribution")
    for mode in ("nearest", "bilinear"):
        up = LayerAttribution.interpolate(cam, (8, 8), mode).numpy()
        np.testing.assert_allclose(up, la.interpolate(ref, (8, 8), mode).detach().numpy(),
                                   rtol=1e-6, atol=1e-12)


@pytest.mark.torch
def test_layer_integrated_gradients_matches_captum(cnn_pair):
    from lamina.explain import LayerIntegratedGradients
    model, tm, x = cnn_pair
    a, d = LayerIntegratedGradients(model, model[3]).attribute(
        x, target=TARGET, n_steps=16, return_convergence_delta=True)
    ref, rd = _captum("LayerIntegratedGradients")(tm, tm[3]).attribute(
        _t(x), target=TARGET, n_steps=16, return_convergence_delta=True)
    np.testing.assert_allclose(a.numpy(), ref.detach().numpy(), rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(d, rd.detach().numpy(), rtol=1e-5, atol=1e-8)


@pytest.mark.torch
def test_deeplift_shap_matches_captum(cnn_pair):
    from lamina.explain import DeepLiftShap
    model, tm, x = cnn_pair
    bg = np.random.default_rng(5).standard_normal((3, 1, 8, 8)) * 0.1
    a = DeepLiftShap(model).attribute(x, bg, target=TARGET).numpy()
    ref = _captum("DeepLiftShap")(tm).attribute(_t(x), _t(bg), target=TARGET)
    np.testing.assert_allclose(a, ref.detach().numpy(), rtol=1e-5, atol=1e-8)
