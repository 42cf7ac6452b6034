"""The per-feature standardisation of tabular inputs that every trained method applies
before its network (the identity for images and volumes)."""

from dataclasses import dataclass, field

import torch

from sepclr.methods.validation import to_float


@dataclass(frozen=True)
class Standardiser:
    """Per-feature mean and scale of tabular inputs (identity for images).

    Parameters
    ----------
    mean, scale : Tensor
        One value per feature for tables; scalars (0 and 1) for images and volumes.
    """

    mean: torch.Tensor
    scale: torch.Tensor
    _on_device: dict[torch.device, tuple[torch.Tensor, torch.Tensor]] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )

    @classmethod
    def fit(cls, x: torch.Tensor) -> "Standardiser":
        """The mean and standard deviation of each feature of a table; a feature whose
        deviation is below a millionth of its largest magnitude counts as constant (scale
        1), whatever the data's unit.
        """
        if x.ndim != 2:
            return cls(torch.zeros(()), torch.ones(()))
        wide = x.double()  # the squares of float32 values above 1e19 overflow in float32
        scale = wide.std(dim=0)
        varies = scale > 1e-6 * wide.abs().amax(dim=0)
        scale = torch.where(varies, scale, torch.ones_like(scale))
        return cls(wide.mean(dim=0).float(), scale.float())

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Standardised float32 ``x`` (uint8 images are first scaled to [0, 1])."""
        x = to_float(x)
        if self.mean.ndim == 0:
            return x
        if x.device not in self._on_device:  # copied to a training device once, not per batch
            self._on_device[x.device] = (self.mean.to(x.device), self.scale.to(x.device))
        mean, scale = self._on_device[x.device]
        return (x - mean) / scale

    def check(self, sample_shape: tuple[int, ...]) -> None:
        """Raise ``ValueError`` unless this standardiser suits samples of ``sample_shape``:
        float32, one mean and one positive scale per feature of a table (scalars else).
        """
        shape = sample_shape if len(sample_shape) == 1 else ()
        for name, tensor in (("mean", self.mean), ("scale", self.scale)):
            if tuple(tensor.shape) != shape or tensor.dtype != torch.float32:
                raise ValueError(
                    f"standardiser.{name} is {tensor.dtype} of shape {tuple(tensor.shape)}, "
                    f"expected float32 of shape {shape}"
                )
        if not bool((self.scale > 0).all()):
            raise ValueError("standardiser.scale has values that are not positive")

    def invert(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` back on the scale of the input."""
        return x * self.scale + self.mean
