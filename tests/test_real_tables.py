"""The benchmarks on real measurements: mouse cortex proteins (a generated file in the
table's exact format) and breast-cancer nuclei with a planted enlargement."""

import csv
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer

import sepclr
from sepclr.data import download as downloads
from sepclr.data.sets import mice_protein as mice
from sepclr.data.sets.breast_cancer_enlarged import _size_gains
from sepclr.errors import CorruptFileError, DataNotFoundError, InvalidInputError

PROTEINS = [f"P{k}_N" for k in range(mice.PROTEINS)]
# (genotype, treatment, behaviour, class, mice): the table's eight classes, fewer mice each
KINDS = [
    ("Control", "Saline", "C/S", "c-CS-s", 6),
    ("Control", "Saline", "S/C", "c-SC-s", 6),
    ("Ts65Dn", "Saline", "S/C", "t-SC-s", 6),
    ("Ts65Dn", "Saline", "C/S", "t-CS-s", 3),
    ("Control", "Memantine", "S/C", "c-SC-m", 3),
]
MEASUREMENTS = 4


def write_mice_table(folder: Path) -> Path:
    """A table in the layout of ``Data_Cortex_Nuclear.csv`` (a byte-order mark, ``MouseID``
    as ``<mouse>_<k>``, 77 protein columns, the label columns), some levels missing. Each
    level encodes its mouse, so rows can be traced: level j of mouse m is ``m + j / 100``;
    Ts65Dn mice have protein 0 doubled, which is never missing."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / mice.FILE
    rng = np.random.default_rng(0)
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle)
        writer.writerow(["MouseID", *PROTEINS, "Genotype", "Treatment", "Behavior", "class"])
        mouse = 100
        for genotype, treatment, behaviour, label, count in KINDS:
            for _ in range(count):
                mouse += 1
                for k in range(1, MEASUREMENTS + 1):
                    levels = [mouse + j / 100 for j in range(mice.PROTEINS)]
                    if genotype == "Ts65Dn":
                        levels[0] *= 2
                    cells = [
                        "" if j > 0 and rng.random() < 0.03 else f"{v:.4f}"
                        for j, v in enumerate(levels)
                    ]
                    writer.writerow([f"{mouse}_{k}", *cells, genotype, treatment, behaviour, label])
    return path


@pytest.fixture
def mice_root(tmp_path):
    write_mice_table(tmp_path / "data" / "mice-protein")
    return tmp_path / "data"


def test_mice_groups_genotype_and_whole_mice_per_split(mice_root):
    train = sepclr.datasets.load("mice-protein", root=mice_root)
    test = sepclr.datasets.load("mice-protein", root=mice_root, split="test")
    # background: saline control mice that learned (6 mice); target: shocked saline mice
    assert len(train.background) + len(test.background) == 6 * MEASUREMENTS
    assert len(train.target) + len(test.target) == 12 * MEASUREMENTS
    assert train.roles == {"genotype": "salient"}
    assert train.label_names["genotype"] == ["Control", "Ts65Dn"]
    for split in (train, test):
        ts65dn = split.target[:, 0] > 2 * 100  # protein 0 doubled, or a filled-in mean
        assert np.array_equal(split.factors["genotype"] == 1, ts65dn)
        assert np.isfinite(split.background).all() and np.isfinite(split.target).all()
    train_mice = set(np.concatenate(train.subjects).tolist())
    test_mice = set(np.concatenate(test.subjects).tolist())
    assert not train_mice & test_mice
    # a third of every kind of mouse is tested: 2 of 6 per kind
    assert len(test_mice) == 6 and len(train_mice) == 12
    # each row carries its own mouse's levels (level j of mouse m is m + j / 100)
    for split in (train, test):
        for rows, subjects in zip((split.background, split.target), split.subjects, strict=True):
            assert np.array_equal(np.floor(np.median(rows[:, 1:], axis=1)), subjects.astype(float))


def test_mice_folds_partition_the_mice(mice_root):
    tested = []
    for fold in range(3):
        test = sepclr.datasets.load("mice-protein", root=mice_root, split="test", fold=fold)
        tested.append(set(np.concatenate(test.subjects).tolist()))
    assert not (tested[0] & tested[1]) and not (tested[1] & tested[2])
    assert len(set().union(*tested)) == 18


def test_mice_missing_levels_take_the_train_mean(mice_root):
    rows = list(csv.reader((mice_root / "mice-protein" / mice.FILE).open(encoding="utf-8-sig")))
    train = sepclr.datasets.load("mice-protein", root=mice_root)
    test = sepclr.datasets.load("mice-protein", root=mice_root, split="test")
    train_mice = set(np.concatenate(train.subjects).tolist())
    used = [r for r in rows[1:] if r[-3] == "Saline" and (r[-2] == "S/C" or r[-4] == "Control")]
    measured = [float(r[2]) for r in used if r[0].split("_")[0] in train_mice and r[2]]
    levels = np.concatenate(
        [d.background[:, 1] for d in (train, test)] + [d.target[:, 1] for d in (train, test)]
    )
    subjects = np.concatenate(
        [d.subjects[0] for d in (train, test)] + [d.subjects[1] for d in (train, test)]
    ).astype(float)
    filled = ~np.isclose(levels, subjects + 0.01, atol=1e-4)
    assert filled.sum() >= 2
    assert np.allclose(levels[filled], np.mean(measured), atol=1e-3)


def test_mice_refuses_foreign_tables_and_bad_folds(tmp_path, mice_root):
    with pytest.raises(InvalidInputError, match="fold"):
        sepclr.datasets.load("mice-protein", root=mice_root, fold=3)
    foreign = tmp_path / "foreign" / "mice-protein"
    foreign.mkdir(parents=True)
    (foreign / mice.FILE).write_text("MouseID,a,b\n1_1,2,3\n")
    with pytest.raises(CorruptFileError, match="77 protein columns"):
        sepclr.datasets.load("mice-protein", root=tmp_path / "foreign")
    words = tmp_path / "words" / "mice-protein"
    text = (mice_root / "mice-protein" / mice.FILE).read_text(encoding="utf-8-sig")
    words.mkdir(parents=True)
    (words / mice.FILE).write_text(text.replace("101.0000", "high", 1))
    with pytest.raises(CorruptFileError, match="not a number"):
        sepclr.datasets.load("mice-protein", root=tmp_path / "words")


def test_mice_not_found_names_the_download(tmp_path, monkeypatch):
    monkeypatch.setattr(sepclr.data.locations, "DEBIAN_DATA", tmp_path / "debian")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("SEPCLR_DATA", raising=False)
    with pytest.raises(DataNotFoundError, match="sepclr download mice-protein"):
        sepclr.datasets.load("mice-protein", root=tmp_path / "nowhere")
    resource = downloads.RESOURCES["mice-protein"]
    (remote,) = resource.files
    assert resource.folder == mice.FOLDER and remote.name == mice.FILE and len(remote.md5) == 32


def test_breast_cancer_enlarged_plants_the_enlargement_exactly():
    table = load_breast_cancer()
    gains = _size_gains(list(table.feature_names), 1.3)
    assert sorted(set(gains.round(4))) == [1.0, 1.3, 1.69]
    assert (gains > 1).sum() == 9  # radius, perimeter, area: mean, error, worst
    splits = {
        s: sepclr.datasets.load("breast-cancer-enlarged", split=s)
        for s in ("train", "validation", "test")
    }
    rows = sum(len(d.background) + len(d.target) for d in splits.values())
    assert rows == len(table.data)

    def measured(rows: np.ndarray) -> bool:
        """Whether every row is a row of the table (to float32 rounding)."""
        gap = np.abs(rows[:, None, :] - table.data[None]) / (np.abs(table.data[None]) + 1e-3)
        return bool((gap.max(axis=2).min(axis=1) < 1e-5).all())

    for data in splits.values():
        enlarged = data.factors["enlarged"] == 1
        assert 0.35 < enlarged.mean() < 0.65
        assert measured(data.background) and measured(data.target[~enlarged])
        assert measured(data.target[enlarged] / gains)  # undoing the gains gives a measured row
        assert not measured(data.target[enlarged][:1])
        assert set(np.unique(data.factors["diagnosis"])) == {0, 1}
    assert splits["train"].roles == {"enlarged": "salient", "diagnosis": "common"}
    with pytest.raises(InvalidInputError, match="gain"):
        sepclr.datasets.load("breast-cancer-enlarged", gain=0.9)
