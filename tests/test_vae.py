import math

import numpy as np
import pytest
import torch
from torch.distributions import Normal, kl_divergence

import sepclr
from sepclr.errors import InvalidInputError, NotFittedError
from sepclr.evaluation import probe_row
from sepclr.methods.vae_module import VAEWeights, contrastive_vae_loss
from sepclr.nets.vae import ContrastiveVAENet
from sepclr.objectives.critics import TotalCorrelation, shuffled_marginals
from sepclr.objectives.vae import gaussian_kl, narrow_prior_mean_penalty, sum_squared_error

VAES = (sepclr.CVAE, sepclr.ConVAE, sepclr.MMCVAE, sepclr.SepVAE)


@pytest.fixture
def gen():
    return torch.Generator().manual_seed(0)


# --- loss terms against plain references ---------------------------------------------------


def test_gaussian_kl_matches_torch_distributions(gen):
    mu, logvar = torch.randn(7, 5, generator=gen), torch.randn(7, 5, generator=gen)
    posterior = Normal(mu, torch.exp(0.5 * logvar))
    expected = kl_divergence(posterior, Normal(torch.zeros(7, 5), torch.ones(7, 5))).sum()
    assert gaussian_kl(mu, logvar).item() == pytest.approx(expected.item(), rel=1e-5)


def test_narrow_prior_penalty_is_the_mean_part_of_its_kl(gen):
    mu, precision, variance = torch.randn(6, 4, generator=gen), 100.0, 0.1
    prior = Normal(torch.zeros(6, 4), torch.full((6, 4), 1 / math.sqrt(precision)))
    std = torch.full((6, 4), math.sqrt(variance))
    mean_part = kl_divergence(Normal(mu, std), prior) - kl_divergence(Normal(0 * mu, std), prior)
    value = narrow_prior_mean_penalty(mu, precision)
    assert value.item() == pytest.approx(mean_part.sum().item(), rel=1e-5)


def test_sum_squared_error_matches_loop(gen):
    x, y = torch.rand(3, 1, 4, 4, generator=gen), torch.rand(3, 1, 4, 4, generator=gen)
    expected = sum(float((a - b) ** 2) for a, b in zip(x.flatten(), y.flatten(), strict=True))
    assert sum_squared_error(y, x).item() == pytest.approx(expected, rel=1e-5)


def test_summed_tc_penalty_is_relu_of_the_log_density_ratio(gen):
    torch.manual_seed(0)
    tc = TotalCorrelation(2, 3, reduction="sum").eval()
    c, s = torch.randn(20, 2, generator=gen) * 3, torch.randn(20, 3, generator=gen) * 3
    probability = torch.sigmoid(tc.logits(torch.cat([c, s], dim=1)).double())
    expected = torch.clamp(torch.log(probability / (1 - probability)), min=0).sum()
    assert tc(c, s).item() == pytest.approx(expected.item(), rel=1e-5)


def test_summed_discriminator_loss_matches_plain_cross_entropy(gen):
    torch.manual_seed(0)
    tc = TotalCorrelation(2, 3, reduction="sum")
    c, s = torch.randn(9, 2, generator=gen), torch.randn(9, 3, generator=gen)
    p = torch.sigmoid(tc.logits(torch.cat([c, s], dim=1)).double())
    q = torch.sigmoid(tc.logits(shuffled_marginals(c, s)).double())
    expected = -(torch.log(p).sum() + torch.log(1 - q).sum())
    assert tc.critic_loss(c, s).item() == pytest.approx(expected.item(), rel=1e-5)


def test_shuffled_marginals_pair_each_common_code_with_the_next_salient_code(gen):
    common, salient = torch.randn(5, 2, generator=gen), torch.randn(5, 3, generator=gen)
    out = shuffled_marginals(common, salient)
    for i in range(5):
        torch.testing.assert_close(out[i], torch.cat([common[i], salient[(i + 1) % 5]]))


# --- the composed loss -----------------------------------------------------------------------


def reference_loss(net, x, is_target, w: VAEWeights, discriminator, seed):
    """The loss written out row by row, drawing the same noise in the same order."""
    common, salient = net.encode(x)
    torch.manual_seed(seed)
    eps_c, eps_s = torch.randn_like(common.mu), torch.randn_like(salient.mu)
    total = torch.zeros(())
    z_c_rows, z_s_rows, bg_salient, tg_common, bg_common = [], [], [], [], []
    for i in range(len(x)):
        logvar_s = salient.logvar[i]
        z_c = common.mu[i] + torch.exp(0.5 * common.logvar[i]) * eps_c[i]
        z_s = salient.mu[i] + torch.exp(0.5 * logvar_s) * eps_s[i]
        decoded = net.decoder(torch.cat([z_c, z_s if is_target[i] else 0 * z_s])[None])
        total = total + ((decoded[0] - x[i]) ** 2).sum()
        kl_c = 0.5 * (common.mu[i] ** 2 + common.logvar[i].exp() - common.logvar[i] - 1).sum()
        total = total + w.beta_common * kl_c
        if is_target[i]:
            kl_s = 0.5 * (salient.mu[i] ** 2 + salient.logvar[i].exp() - salient.logvar[i] - 1)
            total = total + w.beta_salient * kl_s.sum()
            z_c_rows.append(z_c)
            z_s_rows.append(z_s)
            tg_common.append(z_c)
        else:
            total = (
                total
                + w.beta_salient * w.background_salient_precision / 2 * (salient.mu[i] ** 2).sum()
            )
            bg_salient.append(z_s)
            bg_common.append(z_c)
    if w.common_mmd or w.salient_mmd:
        from sepclr.objectives.independence import multi_kernel_mmd

        bg_s = torch.stack(bg_salient)
        total = total + w.common_mmd * multi_kernel_mmd(
            torch.stack(bg_common), torch.stack(tg_common)
        )
        total = total + w.salient_mmd * multi_kernel_mmd(bg_s, torch.zeros_like(bg_s))
    if discriminator is not None and w.tc:
        joint = torch.cat([torch.stack(z_c_rows), torch.stack(z_s_rows)], dim=1)
        total = total + w.tc * torch.clamp(discriminator.logits(joint), min=0).sum()
    return total


@pytest.mark.parametrize(
    "weights",
    [
        VAEWeights(0.5, 0.5),
        VAEWeights(0.5, 0.3, tc=2.0, background_salient_precision=100.0),
        VAEWeights(1.0, 0.5, common_mmd=1000.0, salient_mmd=100.0),
    ],
    ids=["cvae", "sepvae", "mm-cvae"],
)
def test_composed_loss_matches_row_by_row_reference(weights):
    torch.manual_seed(0)
    net = ContrastiveVAENet("mlp", (6,), 3, 2, width=2, hidden=8).eval()
    discriminator = TotalCorrelation(3, 2, reduction="sum").eval()
    x = torch.randn(8, 6)
    is_target = torch.tensor([0, 1, 1, 0, 1, 0, 0, 1], dtype=torch.bool)
    torch.manual_seed(1)
    loss, terms = contrastive_vae_loss(net, x, is_target, weights, discriminator)
    expected = reference_loss(net, x, is_target, weights, discriminator, seed=1)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-4)
    assert ("tc" in terms) == (weights.tc > 0)


@pytest.mark.parametrize("shape", [(1, 28, 28), (3, 32, 32), (2, 17, 23)])
def test_image_decoder_returns_the_input_shape(shape):
    net = ContrastiveVAENet("convnet", shape, 4, 3, width=4, hidden=16)
    with torch.no_grad():
        common, salient = net.encode(torch.rand(2, *shape))
        decoded = net.decoder(torch.cat([common.mu, salient.mu], dim=1))
    assert decoded.shape == (2, *shape)
    assert float(decoded.min()) >= 0 and float(decoded.max()) <= 1


# --- estimators ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tabular():
    train = sepclr.datasets.load("synthetic-tabular", n=600)
    test = sepclr.datasets.load("synthetic-tabular", split="test", n=600)
    return train, test


def fit(cls, train, **options):
    settings = {"common_dim": 4, "salient_dim": 4, "epochs": 20, "batch_size": 128}
    settings |= {"verbose": False, "device": "cpu", **options}
    return cls(**settings).fit(train.background, train.target)


@pytest.mark.slow
@pytest.mark.parametrize("cls", [sepclr.CVAE, sepclr.ConVAE, sepclr.MMCVAE])
def test_salient_space_holds_the_target_only_factor(cls, tabular):
    train, test = tabular
    scores = probe_row(fit(cls, train), train, test)
    assert scores["S_salient"] > scores["C_salient"] + 10
    assert scores["C_shared"] > scores["S_shared"] + 10


@pytest.mark.slow
def test_sepvae_holds_background_salient_codes_at_zero(tabular):
    train, _ = tabular
    model = fit(sepclr.SepVAE, train)
    free = fit(sepclr.SepVAE, train, background_salient_precision=0.0)
    assert {"background_salient", "tc"} <= set(model.history_[-1])
    assert "background_salient" not in free.history_[-1]
    _, bg_salient = model.transform(train.background)
    _, free_bg_salient = free.transform(train.background)
    assert np.abs(bg_salient).mean() < 0.2 * np.abs(free_bg_salient).mean()


def test_loss_decreases(tabular):
    train, _ = tabular
    history = fit(sepclr.ConVAE, train, epochs=8).history_
    assert history[-1]["loss"] < 0.8 * history[0]["loss"]
    assert history[-1]["reconstruction"] < history[0]["reconstruction"]


def test_images_fit_transform_and_reconstruct():
    rng = np.random.default_rng(0)
    background = rng.integers(0, 256, (64, 20, 20), dtype=np.uint8)
    target = rng.integers(0, 256, (64, 20, 20), dtype=np.uint8)
    model = sepclr.SepVAE(
        common_dim=3, salient_dim=2, epochs=1, batch_size=32, width=4, verbose=False
    ).fit(background, target)
    common, salient = model.transform(target)
    assert common.shape == (64, 3) and salient.shape == (64, 2)
    full, without_salient = model.reconstruct(target), model.reconstruct(target, salient=False)
    assert full.shape == (64, 1, 20, 20) and not np.allclose(full, without_salient)


def test_errors(tabular):
    train, _ = tabular
    with pytest.raises(NotFittedError):
        sepclr.CVAE().transform(train.target)
    with pytest.raises(InvalidInputError, match="tc_weight"):
        sepclr.ConVAE(tc_weight=-1.0).fit(train.background, train.target)
    with pytest.raises(InvalidInputError, match="did you mean 'mlp'"):
        sepclr.CVAE(backbone="mpl").fit(train.background, train.target)
    model = fit(sepclr.CVAE, train, epochs=1)
    with pytest.raises(InvalidInputError, match="fitted on"):
        model.transform(train.target[:, :5])


def test_reconstruction_grid_is_written(tmp_path):
    from sepclr.data.catalog import CADataset
    from sepclr.evaluation.plots import plot_reconstructions

    rng = np.random.default_rng(0)
    images = rng.random((2, 16, 3, 16, 16), dtype=np.float32)
    data = CADataset(
        name="toy",
        split="test",
        background=images[0],
        target=images[1],
        factors={"a": rng.integers(0, 2, 16)},
        roles={"a": "salient"},
    )
    model = sepclr.CVAE(common_dim=2, salient_dim=2, epochs=1, width=4, verbose=False)
    model.fit(data.background, data.target)
    path = plot_reconstructions(model, data, tmp_path / "grid.png", n=4)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(tmp_path.glob(".*tmp*"))


def test_transform_runs_on_the_model_device_not_always_the_cpu():
    """A fitted VAE asked to encode on a device this machine lacks says so, rather than
    quietly encoding on the CPU (where it was before)."""
    rng = np.random.default_rng(0)
    data = rng.normal(size=(40, 6)).astype(np.float32)
    model = sepclr.CVAE(2, 2, epochs=1, verbose=False, device="cpu").fit(data, data + 1)
    expected = model.transform(data)
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    model.set_params(device="cuda")
    with pytest.raises(InvalidInputError, match="CUDA is not available"):
        model.transform(data)
    model.set_params(device="cpu")
    np.testing.assert_array_equal(model.transform(data)[0], expected[0])


def test_a_new_variant_is_one_class_that_every_layer_finds(monkeypatch, tmp_path, capsys):
    """A variant built from the existing terms is one registered class: the command line,
    the benchmarks, saving and loading find it with no other change."""
    from sepclr import cli
    from sepclr.bench import method_rows
    from sepclr.methods.parameters import NON_NEGATIVE, Param
    from sepclr.methods.vae import ContrastiveVAE
    from sepclr.registry import METHODS, register_method

    monkeypatch.setitem(METHODS, "tc-mm-cvae", None)  # removed again after the test

    @register_method("tc-mm-cvae", "TC-MM-cVAE")
    class TCMMCVAE(ContrastiveVAE):
        """MM-cVAE's common-code MMD with ConVAE's total-correlation penalty."""

        tc_weight = Param(1.0, NON_NEGATIVE, "Weight of the TC penalty.")
        common_mmd_weight = Param(100.0, NON_NEGATIVE, "Weight of the common-code MMD.")

        def _variant_weights(self):
            return {"tc": float(self.tc_weight), "common_mmd": float(self.common_mmd_weight)}

    assert "tc-mm-cvae" in method_rows("baselines")
    out = tmp_path / "run"
    argv = ["fit", "--dataset", "synthetic-tabular", "--method", "tc-mm-cvae", "--out", str(out)]
    assert cli.main([*argv, "--epochs", "2", "--quiet", "--set", "tc_weight=0.5"]) == 0
    assert "S_salient" in capsys.readouterr().out
    loaded = sepclr.load(out)
    assert type(loaded) is TCMMCVAE and loaded.tc_weight == 0.5
    assert {"tc", "mmd"} <= set(loaded.history_[0])


def test_a_new_method_module_is_found_without_an_import_list(tmp_path, monkeypatch):
    """A new module in a package of methods registers its method when the package imports
    every module (what ``sepclr.methods`` and the datasets' package do)."""
    from sepclr.registry import METHODS, import_every_module

    package = tmp_path / "more_methods"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "planted.py").write_text(
        "from sepclr.methods.cpca import CPCA\n"
        "from sepclr.registry import register_method\n\n\n"
        '@register_method("planted", "Planted")\n'
        "class Planted(CPCA):\n"
        '    """cPCA under another name."""\n'
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(METHODS, "planted", None)  # removed again after the test
    import more_methods

    assert import_every_module(more_methods) == ["planted"]
    assert METHODS["planted"].cls.__name__ == "Planted"
    assert "cpca" in import_every_module(sepclr.methods)
