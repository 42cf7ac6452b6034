import numpy as np
import pytest
import torch

import sepclr
from sepclr.errors import InvalidInputError
from sepclr.nets import TwoBranchEncoder, resolve_backbone
from sepclr.nets.resnet import ResNet18Backbone
from sepclr.views import (
    ImageViewOptions,
    ImageViews,
    TabularViewOptions,
    TabularViews,
    view_options,
)


@pytest.mark.parametrize("shape", [(1, 16, 16), (3, 32, 32), (2, 28, 40)])
def test_convnet_encoder_shapes(shape):
    encoder = TwoBranchEncoder("convnet", shape, common_dim=6, salient_dim=5, width=4)
    out = encoder(torch.rand(3, *shape))
    assert out.common_rep.shape == (3, 6) and out.common_head.shape == (3, 6)
    assert out.salient_rep.shape == (3, 5) and out.salient_head.shape == (3, 5)


def test_branches_are_independent():
    encoder = TwoBranchEncoder("mlp", (10,), 4, 4)
    common_params = {id(p) for p in encoder.common.parameters()}
    assert not common_params & {id(p) for p in encoder.salient.parameters()}


def test_auto_backbone_by_rank():
    assert resolve_backbone("auto", (12,)) == "mlp"
    assert resolve_backbone("auto", (1, 28, 28)) == "convnet"
    with pytest.raises(ValueError, match="at least 16"):
        resolve_backbone("auto", (1, 8, 8))
    assert resolve_backbone("auto", (1, 16, 16, 16)) == "convnet"  # 3-D
    with pytest.raises(ValueError, match="takes vectors"):
        resolve_backbone("mlp", (1, 28, 28))


def test_image_views_draw_per_sample_parameters():
    torch.manual_seed(0)
    images = torch.rand(1, 1, 28, 28).repeat(8, 1, 1, 1)
    views = ImageViews((28, 28), ImageViewOptions())(images)
    assert views.shape == images.shape
    assert views.min() >= 0 and views.max() <= 1
    flat = views.flatten(1)
    assert torch.cdist(flat, flat).fill_diagonal_(1.0).min() > 0.1  # every pair differs


def test_image_views_identity_when_everything_is_off():
    options = view_options(
        "image",
        {
            "crop_scale": [1.0, 1.0],
            "crop_ratio": [1.0, 1.0],
            "hflip": 0.0,
            "brightness": 0.0,
            "contrast": 0.0,
            "noise_std": 0.0,
        },
    )
    images = torch.rand(4, 3, 20, 20)
    torch.testing.assert_close(ImageViews((20, 20), options)(images), images, atol=1e-5, rtol=0)


def test_tabular_views():
    torch.manual_seed(0)
    x = torch.ones(2000, 10)
    out = TabularViews(TabularViewOptions(noise_std=0.0, feature_dropout=0.25))(x)
    assert (out == 0).float().mean().item() == pytest.approx(0.25, abs=0.02)
    noisy = TabularViews(TabularViewOptions(noise_std=0.5, feature_dropout=0.0))(x)
    assert (noisy - x).std().item() == pytest.approx(0.5, rel=0.05)


def test_unknown_view_option():
    with pytest.raises(ValueError, match="crop_scale"):
        view_options("image", {"crop": 0.5})


@pytest.mark.parametrize(
    ("size", "expected"),
    # torchvision's resnet18 has 11,689,512 parameters, 513,000 of them in its 1000-class
    # classifier; the CIFAR stem replaces the 7x7x3x64 convolution by a 3x3x3x64 one.
    [(224, 11_689_512 - 513_000), (64, 11_689_512 - 513_000), (32, 11_176_512 - 7680)],
)
def test_resnet18_has_the_published_size(size, expected):
    backbone = ResNet18Backbone(3, size)
    assert sum(p.numel() for p in backbone.parameters()) == expected
    with torch.no_grad():
        out = backbone.eval()(torch.rand(2, 3, size, size))
    assert out.shape == (2, 512) and backbone.out_features == 512


def test_resnet18_stems_and_sizes():
    cifar, imagenet = ResNet18Backbone(1, 32, width=2), ResNet18Backbone(1, 64, width=2)
    assert not any(isinstance(m, torch.nn.MaxPool2d) for m in cifar.modules())
    assert any(isinstance(m, torch.nn.MaxPool2d) for m in imagenet.modules())
    for shape in ((1, 16, 16), (3, 40, 24), (2, 96, 96)):
        model = ResNet18Backbone(shape[0], min(shape[1:]), width=2)
        assert model(torch.rand(3, *shape)).shape == (3, 64)


def test_estimators_take_the_resnet18_backbone():
    rng = np.random.default_rng(0)
    images = rng.random((2, 8, 3, 16, 16), dtype=np.float32)
    model = sepclr.SepCLR(backbone="resnet18", width=2, epochs=1, batch_size=8, verbose=False)
    common, salient = model.fit(images[0], images[1]).transform(images[1])
    assert common.shape == (8, 32) and salient.shape == (8, 32)
    with pytest.raises(InvalidInputError, match="resnet18 backbone needs images of at least 16"):
        sepclr.CVAE(backbone="resnet18", epochs=1).fit(images[0][..., :8], images[1][..., :8])
