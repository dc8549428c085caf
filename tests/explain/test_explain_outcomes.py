"""Outcomes on real data: IG completeness on digits, deletion curves beat random order, the
sanity check decorrelates, Grad-CAM's shape and sign."""

import numpy as np
import pytest

import lamina

from lamina.explain import (IntegratedGradients, LayerAttribution, LayerGradCam, Saliency,
                            aopc, deletion_curve, insertion_curve, sanity_check)


def _batch(d, n=32):
    x = d.x_test[:n].astype(np.float32)
    return x, d.y_test[:n]


def test_ig_completeness_on_digits_cnn(digits_cnn):
    model, d = digits_cnn
    x, y = _batch(d)
    attr, delta = IntegratedGradients(model).attribute(x, target=y, n_steps=64,
                                                       return_convergence_delta=True)
    assert attr.shape == x.shape and attr.dtype == np.float32
    # delta = sum(attr) - (f(x) - f(0)), so f(x) - f(0) = sum(attr) - delta
    change = attr.numpy().reshape(32, -1).sum(1) - delta
    ratio = np.abs(delta).sum() / np.abs(change).sum()
    assert ratio <= 1e-2, ratio


def test_deletion_in_attribution_order_beats_random(digits_cnn):
    model, d = digits_cnn
    x, y = _batch(d)
    ig = IntegratedGradients(model).attribute(x, target=y, n_steps=32).numpy()
    cam = LayerGradCam(model, model[3]).attribute(x, target=y, relu_attributions=True)
    cam = LayerAttribution.interpolate(cam, (8, 8), "bilinear").numpy()
    _, s_ig = deletion_curve(model, x, ig, y)
    _, s_cam = deletion_curve(model, x, cam, y)
    _, s_rnd = deletion_curve(model, x, ig, y, order="random")
    a_ig, a_cam, a_rnd = aopc(s_ig).mean(), aopc(s_cam).mean(), aopc(s_rnd).mean()
    # measured on 8x8 digits: IG 0.76, Grad-CAM 0.40, random 0.37. Grad-CAM's 4x4 map is too
    # coarse for 8x8 digits whose background is already the baseline (docs/explain.md)
    assert a_ig >= 2 * a_rnd and a_cam > a_rnd, (a_ig, a_cam, a_rnd)
    _, ins = insertion_curve(model, x, ig, y)
    _, ins_r = insertion_curve(model, x, ig, y, order="random")
    assert ins.mean() > ins_r.mean()


def test_sanity_check_decorrelates_when_top_layers_are_random(digits_cnn):
    model, d = digits_cnn
    x, y = _batch(d, 16)
    scores = sanity_check(Saliency, model, x, target=y)
    names = list(scores)
    assert names[0] == "8" and len(names) == 4  # top layer first
    assert scores[names[1]] < 0.3 and scores[names[-1]] < 0.3, scores
    w = model[8].weight.numpy().copy()
    sanity_check(Saliency, model, x, target=y)
    np.testing.assert_array_equal(model[8].weight.numpy(), w)  # the model is untouched


def test_gradcam_relu_is_nonnegative_with_layer_size(digits_cnn):
    model, d = digits_cnn
    x, y = _batch(d, 8)
    cam = LayerGradCam(model, model[4]).attribute(x, target=y, relu_attributions=True).numpy()
    assert cam.shape == (8, 1, 4, 4) and (cam >= 0).all() and cam.max() > 0


@pytest.mark.slow
def test_mnist5k_lenet_deletion_ig_and_gradcam_beat_random():
    # measured (LeNet-5, 3 epochs, test acc 0.928): deletion AOPC IG 0.84, Grad-CAM at
    # features.5 0.53, random 0.24 over 32 test digits
    from explain_twins import train
    from lamina import datasets
    from lamina.models import LeNet5
    d = datasets.load("mnist5k")
    lamina.manual_seed(0)
    model = train(LeNet5(), d.x_train.astype(np.float32), d.y_train, epochs=3, lr=2e-3)
    x, y = d.x_test[:32].astype(np.float32), d.y_test[:32]
    ig = IntegratedGradients(model).attribute(x, target=y, n_steps=32).numpy()
    cam = LayerGradCam(model, model.features[5]).attribute(x, target=y, relu_attributions=True)
    cam = LayerAttribution.interpolate(cam, (28, 28), "bilinear").numpy()
    rnd = aopc(deletion_curve(model, x, ig, y, order="random")[1]).mean()
    assert aopc(deletion_curve(model, x, ig, y)[1]).mean() >= 2 * rnd
    assert aopc(deletion_curve(model, x, cam, y)[1]).mean() >= 2 * rnd
