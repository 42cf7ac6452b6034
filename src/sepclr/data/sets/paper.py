"""The paper's datasets but Digits-on-CIFAR's offline analogue: ``cifar-mnist`` (Table 1),
``celeba-accessories``, ``dsprites-digit-grid``, ``chexpert-subtypes`` and ``odir-subtypes``,
whose builders share their readers in :mod:`sepclr.data.paper_datasets`."""

from pathlib import Path

from sepclr.data import cifar, dsprites, paper_datasets
from sepclr.data.celeba import CELEBA_HOW_TO_GET
from sepclr.data.locations import find_files
from sepclr.data.sources import MNIST, MNIST_HOW_TO_GET, idx_files
from sepclr.registry import DatasetInfo, register_dataset


def _mnist_paths(root: str | Path | None) -> list[Path]:
    return [
        *idx_files("mnist", "train", root, MNIST_HOW_TO_GET),
        *idx_files("mnist", "test", root, MNIST_HOW_TO_GET),
    ]


def _cifar_mnist_paths(root: str | Path | None) -> list[Path]:
    names = [(n,) for n in (*cifar.BATCHES["train"], *cifar.BATCHES["test"])]
    return [*find_files(cifar.FOLDER, names, root, cifar.CIFAR_HOW_TO_GET), *_mnist_paths(root)]


def _dsprites_paths(root: str | Path | None) -> list[Path]:
    found = find_files("dsprites", [(dsprites.FILE,)], root, dsprites.DSPRITES_HOW_TO_GET)
    return [*found, *_mnist_paths(root)]


def _celeba_paths(root: str | Path | None) -> list[Path]:
    names = [("list_attr_celeba.csv", "list_attr_celeba.txt")]
    return find_files("celeba", names, root, CELEBA_HOW_TO_GET)


def _chexpert_paths(root: str | Path | None) -> list[Path]:
    names = [("CheXpert-v1.0-small/train.csv",)]
    return find_files("chexpert", names, root, paper_datasets.CHEXPERT_HOW_TO_GET)


def _odir_paths(root: str | Path | None) -> list[Path]:
    return find_files("odir", [("data.csv",)], root, paper_datasets.ODIR_HOW_TO_GET)


for _info in (
    DatasetInfo(
        "cifar-mnist",
        paper_datasets.cifar_mnist,
        "MNIST digits (salient) on CIFAR-10 objects (common): the paper's Table 1",
        "sepclr download cifar-10 mnist",
        _cifar_mnist_paths,
        downloads=(cifar.CIFAR_10, MNIST),
    ),
    DatasetInfo(
        "celeba-accessories",
        paper_datasets.celeba_accessories,
        "CelebA faces with glasses or hats (salient) against neither; sex is common",
        CELEBA_HOW_TO_GET,
        _celeba_paths,
    ),
    DatasetInfo(
        "dsprites-digit-grid",
        paper_datasets.dsprites_digit_grid,
        "dSprites shapes (salient: shape, scale, orientation, position) on MNIST digit grids",
        "sepclr download dsprites mnist",
        _dsprites_paths,
        downloads=(dsprites.DSPRITES, MNIST),
    ),
    DatasetInfo(
        "chexpert-subtypes",
        paper_datasets.chexpert_subtypes,
        "CheXpert X-rays: cardiomegaly, edema, effusion (salient) against healthy; age, sex",
        paper_datasets.CHEXPERT_HOW_TO_GET,
        _chexpert_paths,
    ),
    DatasetInfo(
        "odir-subtypes",
        paper_datasets.odir_subtypes,
        "ODIR-5K fundus photographs: five diseases (salient) against normal; age, sex, eye",
        paper_datasets.ODIR_HOW_TO_GET,
        _odir_paths,
    ),
):
    register_dataset(_info)
