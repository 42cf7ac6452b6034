"""Short command-line runs for the tests of faults: a one-epoch CVAE on a small generated
table, the one-line error check, and a folder's content to compare before and after."""

from pathlib import Path

from sepclr import cli

TABULAR = ["--dataset", "synthetic-tabular", "--dataset-option", "n=40", "--quiet"]
CVAE = ["--method", "cvae", "--epochs", "1", "--batch-size", "16", "--no-evaluate"]


def fit(out: Path, *extra: str) -> int:
    """``sepclr fit`` of the one-epoch CVAE into ``out``; returns the exit status."""
    return cli.main(["fit", *TABULAR, *CVAE, "--out", str(out), *extra])


def one_line_error(capsys) -> str:
    """What the command printed on stderr, checked to be one ``sepclr: error:`` line."""
    err = capsys.readouterr().err
    assert err.startswith("sepclr: error: ") and len(err.strip().splitlines()) == 1, err
    return err


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` and its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}
