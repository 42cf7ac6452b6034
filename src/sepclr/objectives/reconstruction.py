"""The explaining-away reconstruction: a light decoder rebuilds each input from its common
and salient codes, background inputs from the common code alone (salient code at s' = 0)."""

import torch
import torch.nn.functional as F
from torch import nn

from sepclr.objectives.infomax import null_background_rows


def explaining_away_reconstruction(
    decoder: nn.Module,
    common: torch.Tensor,
    salient: torch.Tensor,
    is_target: torch.Tensor,
    x: torch.Tensor,
    noise: float = 0.0,
) -> torch.Tensor:
    """Mean squared error of ``decoder([c, s~])`` against ``x``, with ``s~`` the salient codes
    with background rows at ``s' = 0``.

    Backgrounds are decoded from their common code alone, so the common space must carry
    everything the backgrounds hold; a target's salient code then only needs what its common
    code does not explain. ``noise`` > 0 adds Gaussian noise of that many times the targets'
    root-mean-square salient value to the target codes before decoding: a limit on what the
    salient code can pass to the decoder, the role the KL term plays in a VAE. Shapes:
    ``common`` (n, d_c), ``salient`` (n, d_s), ``is_target`` (n,), ``x`` (n, ...).
    """
    codes = null_background_rows(salient, is_target)
    if noise > 0 and bool(is_target.any()):
        scale = codes[is_target].pow(2).mean().sqrt().detach()
        codes = codes + noise * scale * torch.randn_like(codes) * is_target.unsqueeze(1)
    decoded = decoder(torch.cat([common, codes], dim=1))
    return F.mse_loss(decoded.to(x.dtype), x)
