"""Writers of small files in the original formats of the paper's datasets, for the tests."""

import csv
import pickle
from pathlib import Path

import numpy as np

from sepclr.data.idx import write_idx


def write_mnist(root: Path, train: int, test: int, seed: int = 0) -> tuple[dict, dict]:
    """MNIST IDX .gz files in root/mnist, every digit present; returns {split: (x, y)}."""
    rng = np.random.default_rng(seed)
    (root / "mnist").mkdir(parents=True, exist_ok=True)
    out = {}
    for split, n, prefix in (("train", train, "train"), ("test", test, "t10k")):
        images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        write_idx(root / "mnist" / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(root / "mnist" / f"{prefix}-labels-idx1-ubyte.gz", labels)
        out[split] = (images, labels.astype(np.int64))
    return out


def cifar_batch_bytes(images: np.ndarray, labels: np.ndarray) -> bytes:
    """A batch pickled as the CIFAR-10 python files are: protocol 2, bytes keys."""
    content = {
        b"batch_label": b"generated batch",
        b"labels": [int(v) for v in labels],
        b"data": images.reshape(len(images), -1),
        b"filenames": [f"image_{i}.png".encode() for i in range(len(images))],
    }
    return pickle.dumps(content, protocol=2)


def write_cifar(root: Path, per_batch: int, test: int, seed: int = 0) -> dict:
    """root/cifar-10-batches-py with 5 training batches and a test batch."""
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    out: dict = {"train": ([], [])}
    for k in range(1, 6):
        images = rng.integers(0, 256, size=(per_batch, 3, 32, 32), dtype=np.uint8)
        labels = rng.integers(0, 10, size=per_batch)
        (folder / f"data_batch_{k}").write_bytes(cifar_batch_bytes(images, labels))
        out["train"][0].append(images)
        out["train"][1].append(labels)
    out["train"] = (np.concatenate(out["train"][0]), np.concatenate(out["train"][1]))
    images = rng.integers(0, 256, size=(test, 3, 32, 32), dtype=np.uint8)
    labels = rng.integers(0, 10, size=test)
    (folder / "test_batch").write_bytes(cifar_batch_bytes(images, labels))
    out["test"] = (images, labels)
    return out


def write_dsprites(root: Path, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """root/dsprites/<the original file name> with random sprites and latents."""
    rng = np.random.default_rng(seed)
    images = (rng.random((n, 64, 64)) < 0.05).astype(np.uint8)
    latents = np.stack(
        [
            np.ones(n),
            rng.integers(1, 4, n).astype(float),
            rng.uniform(0.5, 1, n),
            rng.uniform(0, 2 * np.pi, n),
            rng.uniform(0, 1, n),
            rng.uniform(0, 1, n),
        ],
        axis=1,
    )
    folder = root / "dsprites"
    folder.mkdir(parents=True, exist_ok=True)
    metadata = np.array({"description": "generated"}, dtype=object)
    np.savez_compressed(
        folder / "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz",
        imgs=images,
        latents_values=latents,
        latents_classes=np.zeros((n, 6), dtype=np.int64),
        metadata=metadata,
    )
    return images, latents


def write_jpeg(path: Path, shape: tuple[int, int], seed: int, gray: bool = False) -> None:
    from PIL import Image

    rng = np.random.default_rng(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    if gray:
        Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), "L").save(path)
    else:
        Image.fromarray(rng.integers(0, 256, (*shape, 3), dtype=np.uint8), "RGB").save(path)


CELEBA_NAMES = ["5_o_Clock_Shadow", "Eyeglasses", "Male", "Wearing_Hat"]


def write_celeba(root: Path, per_kind: int, txt: bool = False) -> list[list[int]]:
    """root/celeba with img_align_celeba/*.jpg (218x178) and the attributes; ``per_kind``
    images of each (group, sex), group in background / glasses / hats, interleaved."""
    folder = root / "celeba"
    rows = []
    kinds = [(-1, -1), (1, -1), (-1, 1)]
    index = 0
    for _ in range(per_kind):
        for glasses, hat in kinds:
            for male in (-1, 1):
                index += 1
                rows.append([f"{index:06d}.jpg", 1, glasses, male, hat])
    rows.append([f"{index + 1:06d}.jpg", 1, 1, 1, 1])  # glasses and hat: in no group
    for row in rows:
        write_jpeg(
            folder / "img_align_celeba" / str(row[0]),
            (218, 178),
            seed=len(row[0]) + int(row[0][:6]),
        )
    if txt:
        lines = [str(len(rows)), " ".join(CELEBA_NAMES)]
        lines += [" ".join(str(v) for v in row) for row in rows]
        (folder / "list_attr_celeba.txt").write_text("\n".join(lines) + "\n")
    else:
        with (folder / "list_attr_celeba.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["image_id", *CELEBA_NAMES])
            writer.writerows(rows)
    return rows


CHEXPERT_COLUMNS = [
    "Path", "Sex", "Age", "Frontal/Lateral", "AP/PA", "No Finding", "Enlarged Cardiomediastinum",
    "Cardiomegaly", "Lung Opacity", "Lung Lesion", "Edema", "Consolidation", "Pneumonia",
    "Atelectasis", "Pneumothorax", "Pleural Effusion", "Pleural Other", "Fracture",
    "Support Devices",
]  # fmt: skip


def write_chexpert(root: Path, rows: list[dict[str, str]]) -> None:
    """root/chexpert/CheXpert-v1.0-small/train.csv and one small grey JPEG per row."""
    base = root / "chexpert"
    table = base / "CheXpert-v1.0-small" / "train.csv"
    table.parent.mkdir(parents=True, exist_ok=True)
    with table.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=CHEXPERT_COLUMNS)
        writer.writeheader()
        for i, row in enumerate(rows):
            path = f"CheXpert-v1.0-small/train/patient{i:05d}/study1/view1_frontal.jpg"
            full = {c: "" for c in CHEXPERT_COLUMNS} | {"Path": path} | row
            writer.writerow(full)
            write_jpeg(base / path, (60, 50), seed=i, gray=True)


ODIR_COLUMNS = ["ID", "Patient Age", "Patient Sex", "Left-Fundus", "Right-Fundus"]
ODIR_COLUMNS += ["N", "D", "G", "C", "A", "H", "M", "O"]


def write_odir(root: Path, patients: list[dict[str, str]]) -> None:
    """root/odir/data.csv (one row per patient) and two small RGB JPEGs per patient."""
    base = root / "odir"
    (base / "preprocessed_images").mkdir(parents=True, exist_ok=True)
    with (base / "data.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=ODIR_COLUMNS)
        writer.writeheader()
        for i, patient in enumerate(patients):
            row = dict.fromkeys(ODIR_COLUMNS, "0") | {"ID": str(i), "Patient Age": "60"}
            row |= {"Patient Sex": "Female", "Left-Fundus": f"{i}_left.jpg"}
            row |= {"Right-Fundus": f"{i}_right.jpg"} | patient
            writer.writerow(row)
            for side in ("left", "right"):
                write_jpeg(base / "preprocessed_images" / f"{i}_{side}.jpg", (40, 40), seed=i)
