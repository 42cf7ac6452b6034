"""SepCLR's named settings, in one place: the recipes by dataset (``sepclr fit --preset``),
the candidates of :func:`sepclr.select` and the rows of the salient-space ablation of
``sepclr bench``.

The recipes by dataset are the paper's (Louiset et al., ICLR 2024, Sec. 4; official code
``neurospin-projects/2024_rlouiset_sep_clr``) and the project's for single cells, which a
dataset of cells uses by default (``DatasetInfo.preset``): the dataset, the representation
sizes, the weights, the batch size, the epochs, the backbone and the views. Flags and
``--set`` given beside ``--preset`` override its values.

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
class Recipe:
    """Named settings of SepCLR: a dataset's recipe (``sepclr fit --preset``), a candidate of
    :func:`sepclr.select` or a row of the salient-space ablation of ``sepclr bench``.

    Parameters
    ----------
    name : str
        Its name.
    params : dict
        SepCLR's parameters (on top of the defaults, and under the user's for a preset).
    description : str
        What it is.
    dataset : str
        The dataset a preset is for (empty for the others).
    dataset_options : dict
        A preset's options of the dataset's builder.
    """

    name: str
    params: dict[str, Any]
    description: str = ""
    dataset: str = ""
    dataset_options: dict[str, Any] = field(default_factory=dict)


_PAPER_AND_CELLS = (
    Recipe(
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
        "Table 1: two ResNet-18s (CIFAR stem), 32 + 32 dims, beta_S = beta_reg = 1000, "
        "lambda = 10, batch 512, 250 epochs, Adam 3e-4",
        dataset="cifar-mnist",
    ),
    Recipe(
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
        "CelebA glasses/hats at 128 px: two ResNet-18s (ImageNet stem), 16 + 16 dims, "
        "beta_S = beta_reg = 1000, lambda = 10, batch 256, 250 epochs",
        dataset="celeba-accessories",
        dataset_options={"size": 128},
    ),
    Recipe(
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
        "CheXpert subtypes at 224 px: two ResNet-18s, 32 + 32 dims, beta_S = 1, beta_reg = 10, "
        "lambda = 10, batch 256, 200 epochs",
        dataset="chexpert-subtypes",
    ),
    Recipe(
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
        "ODIR subtypes at 224 px: two ResNet-18s, 32 + 32 dims, beta_S = 1, beta_reg = 100, "
        "lambda = 10, batch 256, 200 epochs",
        dataset="odir-subtypes",
    ),
    Recipe(
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
        "dSprites on digit grids, supervised SepCLR: 32 common dims and one salient dim per "
        "attribute (shape, scale, orientation, posX, posY), beta_S = 100, lambda = 10, "
        "batch 1024, 250 epochs",
        dataset="dsprites-digit-grid",
    ),
    Recipe(
        "single-cell",
        {
            "independence_weight": 1.0,
            "views": {"noise_std": 0.5, "feature_dropout": 0.3},
            "epochs": 300,
        },
        "not the paper's: the project's recipe for expression data, used by default on cells "
        "(anndata-study, pbmc-interferon); the paper's objective with lambda = 1, stronger "
        "views (noise 0.5, gene dropout 0.3) and 300 epochs, chosen on pbmc-interferon's "
        "validation split (benchmarks/results/single_cell/README.md)",
        dataset="anndata-study",
    ),
)
PRESETS: dict[str, Recipe] = {recipe.name: recipe for recipe in _PAPER_AND_CELLS}


def preset(name: str) -> Recipe:
    """A recipe by name."""
    if name not in PRESETS:
        raise InvalidInputError(f"unknown preset {name!r}; choose one of {sorted(PRESETS)}")
    return PRESETS[name]


#: The settings :func:`select` tries by default: the paper's objective at 32-d codes and at
#: smaller codes, the correction of the codes (``objective="extended"``), and the paper's
#: objective with each main weight ten times lower or higher.
CANDIDATES: tuple[Recipe, ...] = (
    Recipe("paper", {"objective": "paper"}, "the paper's objective, 32-d codes"),
    Recipe("paper-16", {"objective": "paper", "common_dim": 16, "salient_dim": 16}, "16-d"),
    Recipe("paper-8", {"objective": "paper", "common_dim": 8, "salient_dim": 8}, "8-d"),
    Recipe("salient-8", {"objective": "paper", "salient_dim": 8}, "8-d salient code"),
    Recipe("salient-4", {"objective": "paper", "salient_dim": 4}, "4-d salient code"),
    Recipe(
        "corrected",
        {"objective": "extended", "residualize": "both"},
        "the correction of both codes after training",
    ),
    Recipe(
        "corrected-salient",
        {"objective": "extended", "residualize": "salient"},
        "the correction of the salient code after training",
    ),
    Recipe(
        "corrected-8",
        {"objective": "extended", "residualize": "both", "common_dim": 8, "salient_dim": 8},
        "8-d codes, corrected",
    ),
    Recipe("independence-10", {"objective": "paper", "independence_weight": 10.0}, "lambda 10"),
    Recipe(
        "independence-1000", {"objective": "paper", "independence_weight": 1000.0}, "lambda 1000"
    ),
    Recipe("infoless-10", {"objective": "paper", "infoless_weight": 10.0}, "beta_reg 10"),
    Recipe("infoless-1000", {"objective": "paper", "infoless_weight": 1000.0}, "beta_reg 1000"),
    Recipe("salient-weight-10", {"objective": "paper", "salient_weight": 10.0}, "beta_S 10"),
    Recipe("salient-weight-0.1", {"objective": "paper", "salient_weight": 0.1}, "beta_S 0.1"),
)

#: The rows of ``sepclr bench --ablation salient``, SepCLR's objective around the salient
#: space, each on top of the benchmark's parameters: the paper's objective (the library's
#: default), the correction of both codes after training (``objective="extended"``), and
#: each extension alone on the paper's loss.
_ALONE = {"objective": "extended", "residualize": "none"}
SALIENT_ABLATION: tuple[Recipe, ...] = (
    Recipe("paper", {"objective": "paper"}, "the paper's objective"),
    Recipe("corrected", {"objective": "extended"}, "the correction of both codes"),
    Recipe(
        "residualize-salient",
        {"objective": "extended", "residualize": "salient"},
        "the correction of the salient code",
    ),
    Recipe(
        "linear-hsic-100",
        {"redundancy": "linear-hsic", "redundancy_weight": 100.0, **_ALONE},
        "linear HSIC between the codes, weight 100",
    ),
    Recipe(
        "kernel-hsic-100",
        {"redundancy": "kernel-hsic", "redundancy_weight": 100.0, **_ALONE},
        "kernel HSIC between the codes, weight 100",
    ),
    Recipe("conditional", {"conditional_uniformity": True, **_ALONE}, "conditional uniformity"),
    Recipe("mix", {"salient_background_mix": [0.4, 0.6], **_ALONE}, "background mixing"),
    Recipe(
        "decoder-100-noise",
        {"decoder_weight": 100.0, "decoder_noise": 0.5, **_ALONE},
        "explaining-away decoder, weight 100, noise 0.5",
    ),
    Recipe("cosine", {"lr_schedule": "cosine", "warmup": 0.05, **_ALONE}, "cosine schedule"),
)
