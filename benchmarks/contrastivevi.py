"""contrastiveVI (Weinberger, Lin & Lee, *Nat. Methods* 20, 2023; scvi-tools'
``scvi.external.ContrastiveVI``) on the planted interferon benchmark, scored exactly as
``single_cell.py`` scores its rows: the same cells, splits, genes (the highly variable genes
that ``pbmc-interferon`` keeps) and columns. contrastiveVI models the raw counts; its
background latent is the common code and its salient latent the salient one. scvi-tools is
not a dependency of sepclr: install it beside it (``pip install -e '.[compare]'``).

    python benchmarks/contrastivevi.py --split validation \\
        --out benchmarks/results/single_cell/validation
"""

import argparse
import json
import time
from pathlib import Path
from typing import Any

import numpy as np
from single_cell import score, table

from sepclr.data.catalog import load
from sepclr.data.sets.pbmc_interferon import planted_cells
from sepclr.engine.files import write_json, write_text

SPLITS = ("train", "validation", "test")


def fit_contrastivevi(seed: int, split: str, epochs: int, strength: float) -> tuple[Any, float]:
    """``(encode, fit seconds)`` of contrastiveVI trained on the train split's counts;
    ``encode`` takes a split's name and group (0 background, 1 target)."""
    import anndata
    import scvi

    scvi.settings.seed = seed
    cells = planted_cells(strength)
    genes = load("pbmc-interferon", split="train", strength=strength).feature_names
    assert genes is not None
    columns = [cells["genes"].index(g) for g in genes]
    adata = anndata.AnnData(cells["counts"][:, columns].astype(np.float32))
    scvi.external.ContrastiveVI.setup_anndata(adata)
    train = np.flatnonzero(cells["split"] == 0)
    start = time.perf_counter()
    model = scvi.external.ContrastiveVI(adata, n_background_latent=10, n_salient_latent=10)
    model.train(
        background_indices=train[cells["group"][train] == 0].tolist(),
        target_indices=train[cells["group"][train] == 1].tolist(),
        max_epochs=epochs,
        accelerator="cpu",
        enable_progress_bar=False,
    )
    seconds = time.perf_counter() - start

    def encode(split_name: str, group: int) -> tuple[np.ndarray, np.ndarray]:
        rows = (cells["split"] == SPLITS.index(split_name)) & (cells["group"] == group)
        indices = np.flatnonzero(rows).tolist()
        return tuple(  # type: ignore[return-value]
            model.get_latent_representation(adata, indices=indices, representation_kind=kind)
            for kind in ("background", "salient")
        )

    return encode, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--split", default="validation", choices=SPLITS[1:])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=400)
    parser.add_argument("--strength", type=float, default=10.0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    train = load("pbmc-interferon", split="train", strength=args.strength)
    split = load("pbmc-interferon", split=args.split, strength=args.strength)
    (args.out / "runs").mkdir(parents=True, exist_ok=True)
    runs = []
    for seed in range(args.seeds):
        path = args.out / "runs" / f"contrastivevi-seed{seed}.json"
        if not path.exists():
            encode, seconds = fit_contrastivevi(seed, args.split, args.epochs, args.strength)
            codes = {id(train.background): ("train", 0), id(train.target): ("train", 1)}
            codes |= {id(split.background): (args.split, 0), id(split.target): (args.split, 1)}
            result = score(lambda x, f=encode, c=codes: f(*c[id(x)]), train, split)
            write_json(path, {"fit_seconds": seconds, **result})
        runs.append(json.loads(path.read_text()))
    text = table({f"contrastivevi ({args.epochs} epochs)": runs})
    write_text(args.out / "contrastivevi.md", text)
    print(text)


if __name__ == "__main__":
    main()
