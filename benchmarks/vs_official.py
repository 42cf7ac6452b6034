"""The official SepCLR training step against the library's, side by side in one process.

The official step is re-stated from the published code's formulas (``cifar_mnist/
sep_clr_k-jem.py`` and ``losses.py`` of ``neurospin-projects/2024_rlouiset_sep_clr``): two
ResNet-18 towers with projector heads, each view through the encoder in its own forward
pass, the loss written as that code writes it (``pdist`` / ``cdist`` kernels,
``exp().mean().log()``) at the paper's Digits-on-CIFAR weights (beta_S = beta_reg = 1000,
lambda = 10), Adam 3e-4, and kornia views with the official per-image crop. The library's
step is ``SepCLR(**cifar-mnist preset).fit`` over the same number of steps, same
architecture, batch and resolution, timed by its own training clock over the second of two
epochs (the official step is timed after one warm-up step): in float32 with the view passes
chosen for the device, in float32 with the fused pass, and in bfloat16 where the device
computes it natively (elsewhere a note gives the emulation's slowdown).

    python benchmarks/vs_official.py --steps 12 --batch 64 --device cpu

writes ``benchmarks/results/vs_official.md`` and ``.json`` (pairs of views per second).
"""

import argparse
import json
import platform
import time
from pathlib import Path

import kornia.augmentation as K
import torch
import torch.nn.functional as F
from torch import nn
from torch.profiler import ProfilerActivity, profile

from sepclr import SepCLR
from sepclr.engine.devices import resolve_device
from sepclr.engine.performance import PRECISIONS, native_precision
from sepclr.nets.encoder import Branch, build_backbone
from sepclr.nets.speed import resolve_view_passes
from sepclr.recipes import PRESETS
from sepclr.views import build_views, view_options

RESULTS = Path(__file__).parent / "results"
WEIGHTS = {"salient": 1000.0, "infoless": 1000.0, "independence": 10.0}


class OfficialEncoder(nn.Module):
    """Two independent ResNet-18 towers, each with its representation and projector head."""

    def __init__(self, shape: tuple[int, ...], dim: int = 32, width: int = 16) -> None:
        super().__init__()
        self.common = Branch(build_backbone("resnet18", shape, width), dim)
        self.specific = Branch(build_backbone("resnet18", shape, width), dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        common_rep, common_head = self.common(x)
        specific_rep, specific_head = self.specific(x)
        return common_rep, common_head, specific_rep, specific_head


def _align(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return (a - b).norm(dim=1).pow(2).mean()


def _uniform(z: torch.Tensor) -> torch.Tensor:
    return torch.pdist(z, p=2).pow(2).mul(-1.0).exp().mean().log()


def _joint_entropy(c: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    kernel = torch.cdist(c, c).pow(2).mul(-1.0).exp() * torch.cdist(s, s).pow(2).mul(-1.0).exp()
    return kernel.mean(dim=1).log().mean()


def official_loss(out1: tuple, out2: tuple, is_target: torch.Tensor) -> torch.Tensor:
    """The official loss of two encoded views (the formulas of its ``losses.py``)."""
    c1, c2 = F.normalize(out1[1], dim=1), F.normalize(out2[1], dim=1)
    s1, s2 = out1[3], out2[3]
    t1, t2 = s1.clone(), s2.clone()
    t1[~is_target], t2[~is_target] = 0.0, 0.0
    common = _align(c1, c2) + _uniform(c1) + _uniform(c2)
    salient = _align(s1[is_target], s2[is_target]) + _uniform(t1) + _uniform(t2)
    infoless = 0.5 * (
        _align(t1[~is_target], s1[~is_target]) + _align(t2[~is_target], s2[~is_target])
    )
    jem = 0.5 * (_joint_entropy(c1, t1) + _joint_entropy(c2, t2))
    return (
        common
        + WEIGHTS["salient"] * salient
        + WEIGHTS["infoless"] * infoless
        + WEIGHTS["independence"] * jem
    )


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_official(
    data: torch.Tensor, is_target: torch.Tensor, batch: int, device: torch.device
) -> float:
    """Pairs of views per second of the official step over ``data`` (one warm-up step)."""
    torch.manual_seed(0)
    shape = tuple(data.shape[1:])
    encoder = OfficialEncoder(shape).to(device)
    options = view_options("image", PRESETS["cifar-mnist"].params["views"])
    views = build_views(options, shape)
    # the official code crops and resizes image by image (torchvision), as kornia's default
    # "slice" mode does; the library resamples the whole batch at once
    views.steps[0] = K.RandomResizedCrop(
        shape[1:], scale=options.crop_scale, ratio=options.crop_ratio
    )
    views = views.to(device)
    optimizer = torch.optim.Adam(encoder.parameters(), lr=3e-4)
    batches = list(torch.arange(len(data)).split(batch))

    def step(idx: torch.Tensor) -> None:
        x = data[idx].to(device).float() / 255.0
        targets = is_target[idx].to(device)
        with torch.no_grad():
            v1, v2 = views(x), views(x)
        loss = official_loss(encoder(v1), encoder(v2), targets)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

    step(batches[0])
    _sync(device)
    start = time.perf_counter()
    for idx in batches[1:]:
        step(idx)
    _sync(device)
    return batch * (len(batches) - 1) / (time.perf_counter() - start)


def time_library(
    data: torch.Tensor,
    is_target: torch.Tensor,
    batch: int,
    device: str,
    precision: str,
    view_passes: str = "auto",
) -> float:
    """Pairs per second of ``SepCLR(**cifar-mnist preset).fit`` over ``data``: the second of
    two epochs, as the official step is timed after a warm-up step."""
    params = {**PRESETS["cifar-mnist"].params, "epochs": 2, "batch_size": batch}
    params |= {"precision": precision, "device": device, "verbose": False}
    params |= {"view_passes": view_passes}
    model = SepCLR(**params)
    model.fit(data[~is_target], data[is_target])
    steps = len(data) // batch
    return batch * steps / model.history_[-1]["seconds"]


def emulation_note(precision: str, device: torch.device) -> str:
    """Why ``precision`` has no row: the slowdown of one 64-channel 3x3 convolution (batch
    16, 32 px) under ``precision`` autocast against float32 on this CPU."""
    conv = nn.Conv2d(64, 64, 3, padding=1, bias=False).to(device)
    x = torch.randn(16, 64, 32, 32, device=device)
    seconds = {}
    for dtype in (None, PRECISIONS[precision]):
        with torch.autocast(device.type, dtype=dtype or torch.bfloat16, enabled=dtype is not None):
            conv(x)
            start = time.perf_counter()
            conv(x)
            seconds[dtype] = time.perf_counter() - start
    slowdown = seconds[PRECISIONS[precision]] / seconds[None]
    return (
        f"No {precision} row: this CPU has no {precision} instructions, so oneDNN emulates "
        f"them; one convolution's forward pass is {slowdown:.0f}x slower than in float32 "
        "(the library warns when asked for it here)."
    )


def convolution_share(data: torch.Tensor, is_target: torch.Tensor, batch: int, device) -> str:
    """The profiler's share of convolutions (forward and backward) in the library's float32
    training: one ``fit`` epoch of two steps under ``torch.profiler``."""
    activities = [ProfilerActivity.CPU]
    if device.type == "cuda":
        activities.append(ProfilerActivity.CUDA)
    rows = slice(0, batch)
    with profile(activities=activities) as profiler:
        time_library(data[rows], is_target[rows], batch, str(device), "float32")
    events = profiler.key_averages()
    on_device = device.type == "cuda"

    def own(event) -> float:
        return event.self_device_time_total if on_device else event.self_cpu_time_total

    total = sum(own(e) for e in events)
    convolutions = sum(own(e) for e in events if "convolution" in e.key)
    return (
        f"Convolutions take {100 * convolutions / total:.0f} % of the library's float32 "
        f"training ({'GPU' if on_device else 'CPU'} time of `torch.profiler` over one fit of "
        "two epochs of one step each, set-up included)."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder of the results files")
    args = parser.parse_args()
    device = resolve_device(args.device)
    rows = args.batch * args.steps
    generator = torch.Generator().manual_seed(0)
    data = torch.randint(
        0, 256, (rows, 3, args.size, args.size), dtype=torch.uint8, generator=generator
    )
    is_target = torch.arange(rows) % 2 == 1
    official = time_official(data, is_target, args.batch, device)
    rows_out = {"official formulation": official}
    notes = []
    for precision, passes in (("float32", "auto"), ("float32", "fused"), ("bfloat16", "auto")):
        if not native_precision(precision, device):
            notes.append(emulation_note(precision, device))
            continue
        chosen = resolve_view_passes(passes, device, "resnet18")
        rows_out[f"sepclr, {precision}, view_passes={passes} ({chosen})"] = time_library(
            data, is_target, args.batch, str(device), precision, passes
        )
    notes.append(convolution_share(data, is_target, args.batch, device))
    machine = platform.processor() or platform.machine()
    setting = (
        f"{args.steps} steps of batch {args.batch}, {args.size} px, {device}, {machine}, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    command = (
        f"python benchmarks/vs_official.py --steps {args.steps} --batch {args.batch} "
        f"--size {args.size} --device {args.device}"
    )
    lines = [
        "# The official SepCLR step against the library's",
        "",
        f"`{command}`: {setting}.",
        "",
        "| step | pairs/s | vs official |",
        "|---|---|---|",
        *(
            f"| {name} | {value:.1f} | {value / official:.2f}x |"
            for name, value in rows_out.items()
        ),
        *(f"\n{note}" for note in notes),
    ]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "vs_official.md").write_text("\n".join(lines) + "\n")
    document = {"setting": setting, "pairs_per_second": rows_out, "notes": notes}
    (args.out / "vs_official.json").write_text(json.dumps(document, indent=2) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
