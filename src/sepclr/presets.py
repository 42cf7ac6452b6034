"""SepCLR's recipes by name: the paper's per dataset (Louiset et al., ICLR 2024, Sec. 4;
official code ``neurospin-projects/2024_rlouiset_sep_clr``), and the project's for single
cells, which a dataset of cells uses by default (``DatasetInfo.preset``): the dataset, the
representation sizes, the weights, the batch size, the epochs, the backbone and the views.
``sepclr fit --preset NAME`` uses one; flags and ``--set`` given beside it override its values.

Deviations shared by every recipe: views keep the input size (the official CIFAR crop outputs
24x24 and relies on adaptive pooling); colour jitter is kornia's ``ColorJiggle`` with
per-sample parameters (the official code applies torchvision's jitter to the whole batch or
none, p = 0.8); encoders start from random weights (the official CheXpert and ODIR encoders
start from ImageNet weights, which this project does not ship). The dSprites recipe uses the
project's convnet instead of the official five 4x4 convolutions (512 ... 32 channels) and
leaves out the official Gaussian noise of standard deviation 1 (on [0, 1] images).
"""

from dataclasses import dataclass, field
from typing import Any

from sepclr.errors import InvalidInputError

_JITTER = {
    "brightness": 0.4,
    "contrast": 0.4,
    "saturation": 0.4,
    "hue": 0.1,
    "jitter_p": 0.8,
    "grayscale_p": 0.2,
    "noise_std": 0.0,
}
_CIFAR_VIEWS = {"crop_scale": [0.2, 1.0], "hflip": 0.5, **_JITTER}


@dataclass(frozen=True)
class Preset:
    """A recipe of the paper.

    Parameters
    ----------
    description : str
        What it reproduces.
    dataset : str
        The dataset it is for.
    params : dict
        SepCLR's parameters.
    dataset_options : dict
        Options of the dataset's builder.
    """

    description: str
    dataset: str
    params: dict[str, Any]
    dataset_options: dict[str, Any] = field(default_factory=dict)


PRESETS: dict[str, Preset] = {
    "cifar-mnist": Preset(
        "Table 1: two ResNet-18s (CIFAR stem), 32 + 32 dims, beta_S = beta_reg = 1000, "
        "lambda = 10, batch 512, 250 epochs, Adam 3e-4",
        "cifar-mnist",
        {
            "objective": "paper",
            "backbone": "resnet18",
            "common_dim": 32,
            "salient_dim": 32,
            "salient_weight": 1000.0,
            "infoless_weight": 1000.0,
            "independence_weight": 10.0,
            "batch_size": 512,
            "epochs": 250,
            "lr": 3e-4,
            "salient_projector": True,
            "views": _CIFAR_VIEWS,
        },
    ),
    "celeba-accessories": Preset(
        "CelebA glasses/hats at 128 px: two ResNet-18s (ImageNet stem), 16 + 16 dims, "
        "beta_S = beta_reg = 1000, lambda = 10, batch 256, 250 epochs",
        "celeba-accessories",
        {
            "objective": "paper",
            "backbone": "resnet18",
            "common_dim": 16,
            "salient_dim": 16,
            "salient_weight": 1000.0,
            "infoless_weight": 1000.0,
            "independence_weight": 10.0,
            "batch_size": 256,
            "epochs": 250,
            "lr": 3e-4,
            "salient_projector": True,
            "views": _CIFAR_VIEWS,
        },
        {"size": 128},
    ),
    "chexpert-subtypes": Preset(
        "CheXpert subtypes at 224 px: two ResNet-18s, 32 + 32 dims, beta_S = 1, beta_reg = 10, "
        "lambda = 10, batch 256, 200 epochs",
        "chexpert-subtypes",
        {
            "objective": "paper",
            "backbone": "resnet18",
            "common_dim": 32,
            "salient_dim": 32,
            "salient_weight": 1.0,
            "infoless_weight": 10.0,
            "independence_weight": 10.0,
            "batch_size": 256,
            "epochs": 200,
            "lr": 3e-4,
            "salient_projector": True,
            "views": {
                "crop_scale": [0.2, 1.0],
                "hflip": 0.5,
                "rotation": 45.0,
                "brightness": 0.4,
                "contrast": 0.4,
                "jitter_p": 0.8,
                "noise_std": 0.0,
            },
        },
    ),
    "odir-subtypes": Preset(
        "ODIR subtypes at 224 px: two ResNet-18s, 32 + 32 dims, beta_S = 1, beta_reg = 100, "
        "lambda = 10, batch 256, 200 epochs",
        "odir-subtypes",
        {
            "objective": "paper",
            "backbone": "resnet18",
            "common_dim": 32,
            "salient_dim": 32,
            "salient_weight": 1.0,
            "infoless_weight": 100.0,
            "independence_weight": 10.0,
            "batch_size": 256,
            "epochs": 200,
            "lr": 3e-4,
            "salient_projector": True,
            "views": {"crop_scale": [0.75, 1.0], "vflip": 0.5, "rotation": 45.0, **_JITTER},
        },
    ),
    "dsprites-digit-grid": Preset(
        "dSprites on digit grids, supervised SepCLR: 32 common dims and one salient dim per "
        "attribute (shape, scale, orientation, posX, posY), beta_S = 100, lambda = 10, "
        "batch 1024, 250 epochs",
        "dsprites-digit-grid",
        {
            "objective": "paper",
            "backbone": "convnet",
            "common_dim": 32,
            "salient_dim": 5,
            "salient_attributes": {
                "shape": "discrete",
                "scale": "continuous",
                "orientation": "continuous",
                "posX": "continuous",
                "posY": "continuous",
            },
            "salient_weight": 100.0,
            "independence_weight": 10.0,
            "batch_size": 1024,
            "epochs": 250,
            "lr": 3e-4,
            "views": {
                "crop_scale": [0.5, 1.0],
                "rotation": 25.0,
                "hflip": 0.5,
                "brightness": 0.0,
                "contrast": 0.0,
                "noise_std": 0.0,
            },
        },
    ),
    "single-cell": Preset(
        "not the paper's: the project's recipe for expression data, used by default on cells "
        "(anndata-study, pbmc-interferon); the paper's objective with lambda = 1, stronger "
        "views (noise 0.5, gene dropout 0.3) and 300 epochs, chosen on pbmc-interferon's "
        "validation split (benchmarks/results/single_cell/README.md)",
        "anndata-study",
        {
            "independence_weight": 1.0,
            "views": {"noise_std": 0.5, "feature_dropout": 0.3},
            "epochs": 300,
        },
    ),
}


def preset(name: str) -> Preset:
    """A recipe by name."""
    if name not in PRESETS:
        raise InvalidInputError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return PRESETS[name]
