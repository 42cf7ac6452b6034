"""3-D volumes: backbones, views, the synthetic brain generator, and training on it."""

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

import sepclr
from sepclr.data.sets.synthetic_brain import BLOB_CENTRE, brain_volumes
from sepclr.evaluation.probes import probe_balanced_accuracy
from sepclr.nets.encoder import TwoBranchEncoder, resolve_backbone
from sepclr.nets.vae import ContrastiveVAENet
from sepclr.views import VolumeViewOptions, VolumeViews


@pytest.mark.parametrize("backbone", ["convnet", "resnet18"])
@pytest.mark.parametrize("shape", [(1, 16, 16, 16), (2, 24, 20, 16), (1, 32, 32, 32)])
def test_3d_backbones_encode_volumes_of_several_sizes(backbone, shape):
    encoder = TwoBranchEncoder(backbone, shape, 6, 5, width=2)
    out = encoder(torch.rand(3, *shape))
    assert out.common_rep.shape == (3, 6) and out.salient_rep.shape == (3, 5)
    assert any(isinstance(m, torch.nn.Conv3d) for m in encoder.modules())
    assert resolve_backbone("auto", shape) == "convnet"


def test_the_vae_decodes_volumes_to_their_shape():
    net = ContrastiveVAENet("convnet", (1, 16, 16, 16), 4, 4, width=2, hidden=16)
    z = torch.randn(3, 8)
    decoded = net.decoder(z)
    assert (
        decoded.shape == (3, 1, 16, 16, 16)
        and 0 <= float(decoded.min()) <= float(decoded.max()) <= 1
    )


def test_volume_views_change_volumes_but_keep_their_content():
    torch.manual_seed(0)
    volume = torch.from_numpy(
        brain_volumes(np.array([50.0]), np.array([0]), np.array([1]), np.array([0.0]), 24)
    )
    batch = volume.repeat(8, 1, 1, 1, 1)
    views = VolumeViews(VolumeViewOptions())(batch)
    assert views.shape == batch.shape
    assert not torch.allclose(views[0], views[1])  # per-volume parameters
    for view in views:  # still the same brain: correlated with the original
        assert np.corrcoef(view.flatten(), batch[0].flatten())[0, 1] > 0.6
    identity = VolumeViewOptions(
        zoom=(1.0, 1.0), shift=0.0, rotation=0.0, intensity=0.0, noise_std=0.0
    )
    torch.testing.assert_close(VolumeViews(identity)(batch), batch, atol=1e-5, rtol=0)


def _raw_features(volumes: np.ndarray, side: int) -> dict[str, np.ndarray]:
    axis = np.linspace(-1, 1, side)
    x, y, z = np.meshgrid(axis, axis, axis, indexing="ij")
    near_blob = (x - BLOB_CENTRE[0]) ** 2 + (y - BLOB_CENTRE[1]) ** 2 + (
        z - BLOB_CENTRE[2]
    ) ** 2 < 0.1**2
    flat = volumes[:, 0]
    return {
        "blob": flat[:, near_blob].mean(axis=1),
        "size": (flat > 0.2).sum(axis=(1, 2, 3)),
        "length": (flat > 0.2).any(axis=(2, 3)).sum(axis=1),
        "gain": np.array([v[v > 0.2].mean() for v in flat]),
    }


def test_the_generator_factors_are_recoverable_from_the_raw_volumes():
    rng = np.random.default_rng(0)
    n, side = 60, 24
    age, sex, site = rng.uniform(20, 80, n), rng.integers(0, 2, n), rng.integers(0, 3, n)
    score = rng.uniform(0, 1, n)
    raw = _raw_features(brain_volumes(age, sex, site, score, side), side)
    assert spearmanr(raw["blob"] / raw["gain"], score)[0] < -0.9  # the lesion deepens
    assert spearmanr(raw["size"], age)[0] < -0.8  # atrophy with age
    assert raw["length"][sex == 1].mean() > raw["length"][sex == 0].mean()  # the sex shape term
    gains = [raw["gain"][site == k].mean() for k in range(3)]
    assert gains[0] < gains[1] < gains[2]  # the scanner gain
    healthy = _raw_features(brain_volumes(age, sex, site, np.zeros(n), side), side)
    assert healthy["blob"].mean() > raw["blob"].mean()  # backgrounds have no lesion


def test_synthetic_brain_dataset_groups_and_roles():
    data = sepclr.datasets.load("synthetic-brain", size="small")
    assert data.background.shape == (300, 1, 32, 32, 32) == data.target.shape
    assert data.roles == {"score": "salient", "age": "common", "sex": "common", "site": "common"}
    assert set(data.background_factors) == {"age", "sex", "site"}
    assert data.protocol.group_probe == "representation"


@pytest.mark.slow
def test_sepclr_trains_on_volumes_and_its_salient_space_tells_the_groups_apart():
    """A short training on 16^3 volumes: the loss goes down, and the salient space tells
    lesioned targets from backgrounds better than the common space does (what the
    synthetic-brain benchmark measures as DIAGNOSIS; its score and leakage columns are in the
    README)."""
    rng = np.random.default_rng(1)

    def group(n, lesion, seed):
        age, sex, site = rng.uniform(20, 80, n), rng.integers(0, 2, n), rng.integers(0, 3, n)
        score = rng.uniform(0.5, 1, n) if lesion else np.zeros(n)
        return brain_volumes(age, sex, site, score, 16, seed)

    background, target = group(160, False, 0), group(160, True, 1)
    model = sepclr.SepCLR(8, 8, width=4, epochs=12, batch_size=64, verbose=False, device="cpu")
    model.fit(background, target)
    assert model.history_[-1]["loss"] < model.history_[0]["loss"]
    test_bg, test_tg = group(100, False, 2), group(100, True, 3)
    (c_bg, s_bg), (c_tg, s_tg) = model.transform(background), model.transform(target)
    (tc_bg, ts_bg), (tc_tg, ts_tg) = model.transform(test_bg), model.transform(test_tg)
    labels, test_labels = np.r_[np.zeros(160), np.ones(160)], np.r_[np.zeros(100), np.ones(100)]
    s_acc = probe_balanced_accuracy(np.r_[s_bg, s_tg], labels, np.r_[ts_bg, ts_tg], test_labels)
    c_acc = probe_balanced_accuracy(np.r_[c_bg, c_tg], labels, np.r_[tc_bg, tc_tg], test_labels)
    assert s_acc > c_acc + 5, (s_acc, c_acc)


def _write_study(root, n_controls=6, n_patients=6):
    import nibabel

    rng = np.random.default_rng(0)
    lines = ["participant_id\tgroup\tage\tsex\tsite\tsaps\tpath"]
    for i in range(n_controls + n_patients):
        patient = i >= n_controls
        data = rng.random((20, 24, 18)).astype(np.float32) * (2.0 if patient else 1.0)
        name = f"sub-{i:02d}/anat/sub-{i:02d}_T1w.nii.gz"
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        nibabel.save(nibabel.Nifti1Image(data, np.eye(4)), str(root / name))
        group, saps = ("patient", str(10 + i)) if patient else ("control", "n/a")
        lines.append(
            f"sub-{i:02d}\t{group}\t{30 + i}\t{'MF'[i % 2]}\t{['a', 'b'][i % 2]}\t{saps}\t{name}"
        )
    (root / "participants.tsv").write_text("\n".join(lines) + "\n")


def test_a_nifti_study_from_its_participants_table(tmp_path):
    _write_study(tmp_path)
    options = {"continuous": ("age", "saps"), "salient": ("saps",), "shape": (8, 8, 8)}
    train = sepclr.datasets.load("nifti-study", root=tmp_path, **options)
    test = sepclr.datasets.load("nifti-study", root=tmp_path, split="test", **options)
    assert len(train.background) + len(test.background) == 6
    assert len(test.target) == 1 and len(test.background) == 1  # 20 % of each group
    assert (
        train.target.shape[1:] == (1, 8, 8, 8)
        and train.target.min() >= 0
        and train.target.max() <= 1
    )
    assert train.roles == {"age": "common", "saps": "salient", "sex": "common", "site": "common"}
    assert set(train.background_factors) == {"age", "sex", "site"}
    assert set(np.unique(train.factors["sex"])) <= {0, 1}
    cached = sorted((tmp_path / ".sepclr-cache").glob("*.npy"))
    assert len(cached) == 12
    stamps = [p.stat().st_mtime_ns for p in cached]
    again = sepclr.datasets.load("nifti-study", root=tmp_path, **options)  # from the cache
    np.testing.assert_array_equal(again.target, train.target)
    assert [p.stat().st_mtime_ns for p in cached] == stamps


def test_nifti_study_errors_are_clear(tmp_path):
    from sepclr.errors import CorruptFileError, DataNotFoundError, InvalidInputError

    _write_study(tmp_path)
    with pytest.raises(InvalidInputError, match="no column 'diagnosis'"):
        sepclr.datasets.load("nifti-study", root=tmp_path, group_column="diagnosis")
    with pytest.raises(InvalidInputError, match="needs both 'control' and 'SZ'"):
        sepclr.datasets.load("nifti-study", root=tmp_path, target_value="SZ")
    with pytest.raises(InvalidInputError, match="covariate 'saps' is missing for some subjects"):
        sepclr.datasets.load(
            "nifti-study", root=tmp_path, continuous=("saps",), salient=(), categorical=()
        )
    for volume in tmp_path.glob("sub-*/anat/*.nii.gz"):
        volume.write_bytes(b"not nifti")
    with pytest.raises(CorruptFileError, match=r"_T1w\.nii\.gz is not a readable NIfTI"):
        sepclr.datasets.load("nifti-study", root=tmp_path, cache=False)
    (tmp_path / "sub-03/anat/sub-03_T1w.nii.gz").unlink()
    with pytest.raises(DataNotFoundError, match="1 volume"):
        sepclr.datasets.load("nifti-study", root=tmp_path)


def test_transform_reads_the_volumes_a_participants_table_lists(tmp_path):
    import pandas as pd

    from sepclr import cli
    from sepclr.data.volumes import load_volumes

    _write_study(tmp_path)
    argv = ["fit", "--dataset", "nifti-study", "--data-dir", str(tmp_path)]
    argv += ["--dataset-option", "shape=[16,16,16]", "--method", "cvae", "--epochs", "1"]
    assert cli.main([*argv, "--quiet", "--no-evaluate", "--out", str(tmp_path / "run")]) == 0
    table = tmp_path / "participants.tsv"
    out = tmp_path / "codes.csv"
    assert (
        cli.main(["transform", str(tmp_path / "run"), "--input", str(table), "--out", str(out)])
        == 0
    )
    codes = pd.read_csv(out)
    assert list(codes.participant_id) == [f"sub-{i:02d}" for i in range(12)]
    paths = [tmp_path / f"sub-{i:02d}/anat/sub-{i:02d}_T1w.nii.gz" for i in range(12)]
    common, _ = sepclr.load(tmp_path / "run").transform(load_volumes(paths, (16, 16, 16), None))
    got = codes[[c for c in codes.columns if c.startswith("common_")]].to_numpy(np.float32)
    np.testing.assert_array_equal(got, common)
