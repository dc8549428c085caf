"""``lamina.device`` and argument parsing for ``Tensor.to``."""

from __future__ import annotations

from .. import backend as B

__all__ = ["device", "parse_to_args"]


class device:
    """A device name, PyTorch style: ``lamina.device("cpu")`` or ``lamina.device("cuda")``."""

    __slots__ = ("type", "index")

    def __init__(self, spec="cpu"):
        if isinstance(spec, device):
            self.type, self.index = spec.type, spec.index
            return
        s = str(spec)
        kind, _, idx = s.partition(":")
        if kind not in ("cpu", "cuda"):
            raise ValueError(f"device: expected 'cpu' or 'cuda[:N]', got {spec!r}")
        self.type = kind
        self.index = int(idx) if idx else None

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        return f"device(type='{self.type}')"

    def __eq__(self, other) -> bool:
        try:
            return str(device(other)) == str(self)
        except ValueError:
            return False

    def __hash__(self) -> int:
        return hash(str(self))


def parse_to_args(args, kwargs):
    """Split ``Tensor.to``'s arguments into ``(device_type or None, dtype or None)``."""
    dev = kwargs.pop("device", None)
    dtype = kwargs.pop("dtype", None)
    kwargs.pop("non_blocking", None)
    if kwargs:
        raise TypeError(f"to: unexpected keyword arguments {sorted(kwargs)}")
    for a in args:
        if isinstance(a, device) or (isinstance(a, str) and a.split(":")[0] in ("cpu", "cuda")):
            dev = a
        else:
            try:
                dtype = B.np.dtype(a)
            except TypeError:
                if hasattr(a, "dtype"):  # a tensor: match its dtype (and device)
                    dtype = a.dtype
                else:
                    raise TypeError(f"to: expected a device or a dtype, got {a!r}") from None
    return (device(dev).type if dev is not None else None), dtype
