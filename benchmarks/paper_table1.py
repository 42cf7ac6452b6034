"""The paper's Table 1 on its own data (MNIST digits on CIFAR-10), for a machine with a GPU
and the original files (or a network: missing public files are downloaded, checksummed).

Two tables in ``--out`` (default ``results/cifar_mnist``), each resumable run by run:

- ``sepclr.md``: SepCLR with the ``cifar-mnist`` preset (two ResNet-18s, 32 + 32 dims,
  1000 / 1000 / 10, batch 512, 250 epochs) for the independence terms given by ``--terms``,
  and the same encoders untrained;
- ``baselines.md``: cPCA and the VAE baselines with their defaults (the spec's Digits-on-CIFAR
  settings) and ``--baseline-epochs`` epochs (250 in the official code).

Probes as in the paper: logistic regression on the 500 target test images. Status: built and
run end to end on generated files (``tests/test_presets.py`` for the recipe); not yet run on
the real data (this project's machines have neither the data nor, mostly, a GPU).

    python benchmarks/paper_table1.py --seeds 1 [--data-dir D] [--terms k-jem,none]
"""

import argparse
from pathlib import Path

from sepclr.bench import run_table
from sepclr.data.download import load_or_fetch
from sepclr.recipes import preset

RESULTS = Path(__file__).parent / "results" / "cifar_mnist"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--data-dir")
    parser.add_argument("--out", default=str(RESULTS))
    parser.add_argument("--terms", default="k-jem", help="SepCLR rows (Table 1 term names)")
    parser.add_argument("--baselines", default="cpca,cvae,convae,mm-cvae,sepvae")
    parser.add_argument("--baseline-epochs", type=int, default=250)
    parser.add_argument("--epochs", type=int, help="override the preset's 250 (a dry run)")
    parser.add_argument("--per-group", type=int, help="fewer images per group (a dry run)")
    args = parser.parse_args()

    options = {} if args.per_group is None else {"per_group": args.per_group}
    train = load_or_fetch("cifar-mnist", args.data_dir, "train", options, fetch=True)
    test = load_or_fetch("cifar-mnist", args.data_dir, "test", options, fetch=True)
    context = {"dataset": "cifar-mnist", **options}
    recipe = dict(preset("cifar-mnist").params)
    if args.epochs is not None:
        recipe["epochs"] = args.epochs
    run_table(
        train,
        test,
        args.out,
        tuple(args.terms.split(",")),
        "sepclr",
        args.seeds,
        recipe,
        context=context,
    )
    baseline_params = {"epochs": args.baseline_epochs}
    run_table(
        train,
        test,
        Path(args.out) / "baselines",
        tuple(args.baselines.split(",")),
        "baselines",
        args.seeds,
        baseline_params,
        context=context,
    )
    for table in (Path(args.out) / "sepclr.md", Path(args.out) / "baselines" / "baselines.md"):
        print(table.read_text())


if __name__ == "__main__":
    main()
