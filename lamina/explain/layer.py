"""Layer attributions as in Captum 0.9: LayerGradCam (with ``LayerAttribution.interpolate``),
Grad-CAM++ and LayerIntegratedGradients (a text model explained at its embedding layer).

The layer is observed with a forward hook that hands the rest of the network a fresh leaf
holding the layer's output (or, for LayerIntegratedGradients, the scaled activations), so one
backward gives the gradient at the layer without touching the model.
"""

from __future__ import annotations

from contextlib import contextmanager

from .. import backend as B
from ..autograd import Tensor, enable_grad, no_grad
from ..errors import check
from ._core import (Attribution, _call, as_array, expand_args, expand_target, format_baseline,
                    frozen, target_seed)
from .gradient import approximation_parameters

np = B.np

__all__ = ["LayerAttribution", "LayerGradCam", "LayerGradCamPlusPlus",
           "LayerIntegratedGradients", "layer_eval", "layer_gradients"]


@contextmanager
def _layer_leaf(layer, attribute_to_layer_input=False, replace=None):
    """Inside the block the layer's output (or input) is a fresh leaf that requires grad;
    ``replace`` (an array) substitutes it. Yields a dict filled with ``'leaf'``."""
    box = {}

    def make(a):
        leaf = Tensor(a if replace is None else replace, requires_grad=True)
        box["leaf"] = leaf
        return leaf

    if attribute_to_layer_input:
        def pre(module, args):
            return (make(as_array(args[0])),) + tuple(args[1:])
        h = layer.register_forward_pre_hook(pre)
    else:
        def post(module, args, out):
            return make(as_array(out))
        h = layer.register_forward_hook(post)
    try:
        yield box
    finally:
        h.remove()


def layer_eval(model, layer, x, additional_forward_args=None, attribute_to_layer_input=False):
    """The layer's output (or input) for ``x``, as an array (no gradients)."""
    with no_grad(), _layer_leaf(layer, attribute_to_layer_input) as box:
        _call(model, Tensor(as_array(x)), additional_forward_args)
    return box["leaf"].array


def layer_gradients(model, layer, x, target=None, additional_forward_args=None,
                    attribute_to_layer_input=False, replace=None):
    """(d f_target / d layer, layer activation) as arrays, in one forward and one backward."""
    with frozen(model), enable_grad(), _layer_leaf(layer, attribute_to_layer_input,
                                                   replace) as box:
        out = _call(model, Tensor(as_array(x)), additional_forward_args)
        check("leaf" in box, "layer attribution", "the layer to run in the model's forward",
              f"{type(layer).__name__} was never called")
        out.backward(Tensor(target_seed(out.array, target)))
    leaf = box["leaf"]
    g = leaf.grad.array if leaf.grad is not None else np.zeros_like(leaf.array)
    return g, leaf.array


class LayerAttribution(Attribution):
    """Base of layer methods: ``Method(model, layer)``."""

    def __init__(self, forward_func, layer):
        super().__init__(forward_func)
        self.layer = layer

    @staticmethod
    def interpolate(layer_attribution, interpolate_dims, interpolate_mode: str = "nearest"):
        """Upsample a layer attribution ``(N, C, h, w)`` to ``interpolate_dims`` (e.g. the
        input's ``(H, W)``), as ``torch.nn.functional.interpolate``.

        Args:
            layer_attribution (Tensor or array): ``(N, C, *spatial)``.
            interpolate_dims (int or tuple): output spatial size.
            interpolate_mode (str): ``nearest`` (default), ``bilinear`` (2-D) or ``linear``
                (1-D), ``align_corners=False`` as torch's default.

        Returns:
            Tensor ``(N, C, *interpolate_dims)``.
        """
        a = as_array(layer_attribution)
        sp = a.shape[2:]
        dims = (interpolate_dims,) * len(sp) if isinstance(interpolate_dims, int) \
            else tuple(interpolate_dims)
        check(len(dims) == len(sp), "LayerAttribution.interpolate",
              f"{len(sp)} output sizes for {len(sp)} spatial dims", str(dims))
        check(interpolate_mode in ("nearest", "bilinear", "linear"),
              "LayerAttribution.interpolate", "mode nearest, linear or bilinear",
              repr(interpolate_mode), cls=ValueError)
        out = a
        for ax, (i, o) in enumerate(zip(sp, dims)):
            ax += 2
            if interpolate_mode == "nearest":
                idx = np.minimum(np.floor(np.arange(o) * (i / o)).astype(np.int64), i - 1)
                out = np.take(out, idx, axis=ax)
            else:
                src = np.maximum((np.arange(o) + 0.5) * (i / o) - 0.5, 0.0)
                i0 = np.minimum(np.floor(src).astype(np.int64), i - 1)
                i1 = np.minimum(i0 + 1, i - 1)
                lam = (src - i0).astype(a.dtype)
                shape = [1] * out.ndim
                shape[ax] = o
                lam = lam.reshape(shape)
                out = np.take(out, i0, axis=ax) * (1 - lam) + np.take(out, i1, axis=ax) * lam
        return Tensor(np.ascontiguousarray(out))


class LayerGradCam(LayerAttribution):
    """Grad-CAM (Selvaraju et al. 2017), Captum's ``LayerGradCam``: channel weights are the
    spatial mean of the layer gradient; the map is ``sum_c w_c * A_c`` (``(N, 1, h, w)``,
    the layer's spatial size). Upsample it with :meth:`LayerAttribution.interpolate`.

    Args:
        forward_func (Module or callable): the model.
        layer (Module): usually the last convolution (or its activation).

    Example:
        >>> cam = LayerGradCam(model, model.features[3]).attribute(x, target=y,
        ...                                                        relu_attributions=True)
        >>> up = LayerAttribution.interpolate(cam, x.shape[2:], "bilinear")
    """

    def attribute(self, inputs, target=None, additional_forward_args=None,
                  attribute_to_layer_input: bool = False, relu_attributions: bool = False,
                  attr_dim_summation: bool = True):
        """Args:
            inputs (Tensor or array): ``(N, ...)``.
            target (int, sequence or None): class per row. Default None.
            additional_forward_args: extra model arguments. Default None.
            attribute_to_layer_input (bool): use the layer's input instead of its output.
                Default False.
            relu_attributions (bool): clamp the map at 0 (the paper's ReLU). Default False.
            attr_dim_summation (bool): sum over channels (False keeps ``(N, C, h, w)``).
                Default True.

        Returns:
            Tensor ``(N, 1, *layer_spatial)`` (or ``(N, C, ...)`` without summation).
        """
        g, act = layer_gradients(self.forward_func, self.layer, inputs, target,
                                 additional_forward_args, attribute_to_layer_input)
        w = g.mean(axis=tuple(range(2, g.ndim)), keepdims=True) if g.ndim > 2 else g
        cam = (w * act).sum(1, keepdims=True) if attr_dim_summation else w * act
        if relu_attributions:
            cam = np.maximum(cam, 0)
        return Tensor(cam.astype(act.dtype, copy=False))


class LayerGradCamPlusPlus(LayerAttribution):
    """Grad-CAM++ (Chattopadhyay et al. 2018), not in Captum: channel weights
    ``w_c = sum_ij a_ij relu(g_ij)`` with ``a_ij = g^2 / (2 g^2 + sum_ij A g^3)`` (the
    closed form for an exponential output, as in the paper's code and pytorch-grad-cam).

    Args:
        forward_func (Module or callable): the model.
        layer (Module): a convolutional layer (4-D output).
    """

    def attribute(self, inputs, target=None, additional_forward_args=None,
                  relu_attributions: bool = True):
        """Args:
            inputs (Tensor or array): ``(N, ...)``.
            target (int, sequence or None): class per row. Default None.
            additional_forward_args: extra model arguments. Default None.
            relu_attributions (bool): clamp the map at 0. Default True.

        Returns:
            Tensor ``(N, 1, h, w)``.
        """
        g, act = layer_gradients(self.forward_func, self.layer, inputs, target,
                                 additional_forward_args)
        check(g.ndim == 4, "LayerGradCamPlusPlus", "a layer with (N, C, h, w) output",
              f"{g.shape}")
        g2, g3 = g * g, g * g * g
        denom = 2 * g2 + (act * g3).sum(axis=(2, 3), keepdims=True)
        alpha = g2 / np.where(denom != 0, denom, 1)
        w = (alpha * np.maximum(g, 0)).sum(axis=(2, 3), keepdims=True)
        cam = (w * act).sum(1, keepdims=True)
        return Tensor((np.maximum(cam, 0) if relu_attributions else cam).astype(act.dtype))


class LayerIntegratedGradients(LayerAttribution):
    """Integrated Gradients at a layer (Captum's ``LayerIntegratedGradients``): the path runs
    from the layer's activation at the baseline to its activation at the input, so a text
    model is explained at its embedding layer while its inputs stay integer tokens.

    Args:
        forward_func (Module or callable): the model.
        layer (Module): e.g. the ``Embedding``.
        multiply_by_inputs (bool): multiply by the activation difference. Default True.

    Example:
        >>> lig = LayerIntegratedGradients(model, model.embedding)
        >>> attr = lig.attribute(tokens, baselines=0, target=1).numpy().sum(-1)  # per token
    """

    def __init__(self, forward_func, layer, multiply_by_inputs: bool = True):
        super().__init__(forward_func, layer)
        self.multiplies_by_inputs = multiply_by_inputs

    def attribute(self, inputs, baselines=None, target=None, additional_forward_args=None,
                  n_steps: int = 50, method: str = "gausslegendre", internal_batch_size=None,
                  return_convergence_delta: bool = False,
                  attribute_to_layer_input: bool = False):
        """Args:
            inputs (Tensor or array): ``(N, ...)`` (integer token ids are fine).
            baselines (scalar, array or None): baseline inputs (e.g. the padding id);
                None is zeros. Default None.
            target (int, sequence or None): class per row. Default None.
            additional_forward_args: extra model arguments. Default None.
            n_steps (int): quadrature points. Default 50.
            method (str): as :class:`IntegratedGradients`. Default ``gausslegendre``.
            internal_batch_size (int or None): rows per forward. Default None (all).
            return_convergence_delta (bool): also return ``sum(attr) - (f(x) - f(x'))``.
            attribute_to_layer_input (bool): integrate the layer's input instead. Default
                False.

        Returns:
            Tensor shaped as the layer's output (and the delta when asked).
        """
        x = as_array(inputs)
        b = np.ascontiguousarray(np.broadcast_to(format_baseline(baselines, x), x.shape))
        ax = layer_eval(self.forward_func, self.layer, x, additional_forward_args,
                        attribute_to_layer_input)
        ab = layer_eval(self.forward_func, self.layer, b, additional_forward_args,
                        attribute_to_layer_input)
        steps, alphas = approximation_parameters(method, n_steps)
        n = x.shape[0]
        per = len(alphas) if internal_batch_size is None else max(1, internal_batch_size // n)
        total = np.zeros(ax.shape, ax.dtype)
        t = expand_target(target, n)
        for s in range(0, len(alphas), per):
            a = alphas[s:s + per].astype(ax.dtype)
            k = len(a)
            sh = (k,) + (1,) * ax.ndim
            scaled = (ab[None] + a.reshape(sh) * (ax - ab)[None]).reshape((k * n,) + ax.shape[1:])
            tt = t if t is None or isinstance(t, int) else np.tile(t, k)
            g, _ = layer_gradients(self.forward_func, self.layer, np.concatenate([x] * k), tt,
                                   expand_args(additional_forward_args, k),
                                   attribute_to_layer_input, replace=scaled)
            total += (g.reshape((k,) + ax.shape) * steps[s:s + per].astype(ax.dtype)
                      .reshape(sh)).sum(0)
        attr = total * (ax - ab) if self.multiplies_by_inputs else total
        if return_convergence_delta:
            return Tensor(attr), self.compute_convergence_delta(attr, b, x, target,
                                                                additional_forward_args)
        return Tensor(attr)
