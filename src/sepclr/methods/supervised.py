"""Supervised SepCLR (Louiset et al., ICLR 2024, the dSprites experiment; official
``supervised_disentangled_sep_clr_k-jem.py``): salient dimension ``k`` learns the known
target attribute ``k``."""

from typing import Any

import numpy as np
import torch

from sepclr.engine.training import Batch, Forward, Terms
from sepclr.errors import InvalidInputError
from sepclr.methods.sepclr_module import SepCLRModule
from sepclr.objectives.supervised import supervised_sepclr_objective


class SupervisedSepCLRModule(SepCLRModule):
    """:class:`sepclr.methods.sepclr_module.SepCLRModule`'s parts, trained on the original
    batch and one view of it with the loss of
    :func:`sepclr.objectives.supervised.supervised_sepclr_objective` and the batch's known
    attributes (``Batch.rows``) of kinds ``kinds`` (``"discrete"`` or ``"continuous"``).
    """

    def __init__(self, *parts: Any, kinds: tuple[str, ...], **options: Any) -> None:
        super().__init__(*parts, **options)
        self.kinds = kinds

    def view_pair(self, x: torch.Tensor) -> torch.Tensor:
        """The batch's two views, stacked."""
        return torch.cat([x, self.views(x)])

    def loss(self, batch: Batch, forward: Forward) -> tuple[torch.Tensor, Terms]:
        if batch.rows is None:
            raise InvalidInputError("supervised SepCLR needs the known attributes of each row")
        original, distorted, _, _ = self.encode_pair(batch, forward)
        return supervised_sepclr_objective(
            (original.common_head, distorted.common_head),
            original.salient_head,
            batch.is_target,
            batch.rows,
            self.kinds,
            self.settings.salient,
            self.settings.independence,
            self.settings.common_bandwidth,
            self.independence,
            batch.shard,
        )


def attribute_rows(
    names: list[str], attributes: dict[str, Any] | None, is_target: torch.Tensor
) -> torch.Tensor:
    """The known ``attributes`` as an (n_rows, K) float tensor in the order of ``names``,
    each a sequence of values over the target rows (0 on background rows).
    """
    if attributes is None or sorted(attributes) != sorted(names):
        given = None if attributes is None else sorted(attributes)
        raise InvalidInputError(f"fit needs attributes= with {sorted(names)}, got {given}")
    n_target = int(is_target.sum())
    rows = torch.zeros(len(is_target), len(names))
    for k, name in enumerate(names):
        values = torch.as_tensor(np.asarray(attributes[name], dtype=np.float32))
        if values.shape != (n_target,) or not torch.isfinite(values).all():
            raise InvalidInputError(
                f"attribute {name!r} needs {n_target} finite values, one per target row, "
                f"got shape {tuple(values.shape)}"
            )
        rows[is_target, k] = values
    return rows
