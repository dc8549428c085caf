"""``Attack``: the torchattacks-style base class (model, range, targeted modes, state guard)."""

from __future__ import annotations

from ... import backend as B
from ...errors import check
from .._util import as_array, frozen, logits_of, to_like

np = B.np

__all__ = ["Attack"]


class Attack:
    """Base class: ``attack(images, labels) -> adversarial images``.

    Subclasses implement ``perturb(x, y)`` on raw arrays (``x`` in the input range, ``y`` int
    labels, already the *target* labels in targeted mode). ``__call__`` runs it with the model
    in eval mode and frozen parameters (see :func:`lamina.robust._util.frozen`) and then
    restores the model's mode, every ``requires_grad`` flag and every ``.grad``.

    Args:
        model (Module): returns logits ``(N, C)``.
        clip_min (float): lower end of the valid input range. Default 0.0.
        clip_max (float): upper end of the valid input range. Default 1.0.

    Attributes:
        targeted (bool): whether the attack pushes towards target labels.
        supported_mode (tuple): ``("default", "targeted")`` or ``("default",)``.
    """

    supported_mode = ("default", "targeted")

    def __init__(self, model, clip_min: float = 0.0, clip_max: float = 1.0):
        check(clip_min < clip_max, type(self).__name__, "clip_min < clip_max",
              f"clip_min={clip_min}, clip_max={clip_max}")
        self.model, self.clip_min, self.clip_max = model, float(clip_min), float(clip_max)
        self.targeted = False
        self._target_mode = None
        self._kth_min = 1
        self._target_fn = None

    # ------------------------------------------------------------------ modes (torchattacks)
    def _targeted(self, mode):
        if "targeted" not in self.supported_mode:
            raise ValueError(f"{type(self).__name__}: expected an attack with a targeted "
                             f"variant, got one that supports only {self.supported_mode}")
        self.targeted, self._target_mode = True, mode
        return self

    def set_mode_default(self):
        """Untargeted: move away from the true label (the default)."""
        self.targeted, self._target_mode = False, None
        return self

    def set_mode_targeted_by_label(self):
        """Targeted: the ``labels`` passed to ``__call__`` are the targets."""
        return self._targeted("label")

    def set_mode_targeted_random(self):
        """Targeted at a uniformly random wrong class (drawn from ``lamina.backend.rng()``)."""
        return self._targeted("random")

    def set_mode_targeted_least_likely(self, kth_min: int = 1):
        """Targeted at the ``kth_min``-th least likely class of the clean prediction."""
        self._kth_min = int(kth_min)
        return self._targeted("least_likely")

    def set_mode_targeted_by_function(self, target_map_function):
        """Targeted at ``target_map_function(images, labels)`` (arrays in, int array out)."""
        self._target_fn = target_map_function
        return self._targeted("function")

    def get_target_label(self, x, y):
        """The target labels for raw arrays ``x``, ``y`` under the current targeted mode."""
        if self._target_mode == "label":
            return y
        if self._target_mode == "function":
            return as_array(self._target_fn(x, y)).astype(np.int64)
        logits = B.to_host(logits_of(self.model, x))
        n_cls = logits.shape[1]
        if self._target_mode == "random":
            off = B.rng().integers(1, n_cls, size=len(y))
            return ((B.to_host(y) + off) % n_cls).astype(np.int64)
        order = np.argsort(logits, axis=1)  # ascending: least likely first
        return order[:, self._kth_min - 1].astype(np.int64)

    # ------------------------------------------------------------------ call
    def __call__(self, images, labels=None):
        """Adversarial examples for ``images`` with true (or target) ``labels``.

        Args:
            images (Tensor or array): ``(N, ...)`` inputs in ``[clip_min, clip_max]``.
            labels (Tensor or array): ``(N,)`` int class indices; None uses the model's
                predictions (avoids the label-leaking effect).

        Returns:
            Tensor or array (as ``images``): ``(N, ...)`` adversarial inputs, same dtype.
        """
        x = as_array(images)
        check(x.dtype.kind == "f", type(self).__name__, "floating-point images",
              f"dtype {x.dtype}")
        with frozen(self.model):
            if labels is None:
                y = logits_of(self.model, x).argmax(axis=1).astype(np.int64)
            else:
                y = as_array(labels).astype(np.int64)
            check(y.shape == (len(x),), type(self).__name__, f"labels of shape ({len(x)},)",
                  f"{tuple(y.shape)}")
            if self.targeted:
                y = self.get_target_label(x, y)
            adv = self.perturb(x.copy(), y)
        return to_like(adv.astype(x.dtype, copy=False), images)

    forward = __call__

    def perturb(self, x, y):  # pragma: no cover - abstract
        raise NotImplementedError

    def clip(self, x):
        """Clip to the valid input range."""
        return B.get_array_module(x).clip(x, self.clip_min, self.clip_max)

    def __repr__(self) -> str:
        keys = [k for k in vars(self) if not k.startswith("_") and k != "model"]
        return f"{type(self).__name__}({', '.join(f'{k}={getattr(self, k)!r}' for k in keys)})"
