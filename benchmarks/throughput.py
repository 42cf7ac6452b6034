"""Training throughput of SepCLR (k-JEM, default weights) and the memory its data takes.

Six tables, each configuration in its own process (so that its peak memory is its own):

1. backbones: pairs of views per second for each backbone and batch size, the fused
   two-view pass against one pass per view (same hand-written step), the loss terms' share
   of the step the library uses, peak memory;
2. step options: the library's training step (``TrainingPlan.run``: views, forward, loss,
   Adam) with each view-pass scheme, channels-last, bfloat16 autocast, ``torch.compile``;
3. threads: the library's default convnet step with one thread and with one per core;
4. processes: the same step on 1 and on 2 processes (gloo on a CPU, NCCL on GPUs), with the
   same global batch;
5. data memory: the memory ``SepCLR.fit`` adds to hold 60,000 28x28 images given as uint8,
   float32 or float64 (``epochs=0``: validation and storage only);
6. crop: the random resized crop image by image against one resampling of the batch.

Writes ``results/throughput.md`` and ``.json`` (``throughput_cuda.*`` on a GPU).

    python benchmarks/throughput.py [--steps 5] [--device auto]
"""

import argparse
import itertools
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import kornia.augmentation as K
import numpy as np
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from sepclr import SepCLR
from sepclr.engine.devices import resolve_device
from sepclr.engine.distributed import process_device
from sepclr.engine.performance import StepSpeed, native_precision, set_memory_format
from sepclr.engine.shard import SINGLE_PROCESS, Shard
from sepclr.engine.training import TrainingData, TrainingPlan
from sepclr.evaluation import markdown_table
from sepclr.methods.sepclr_module import SepCLRModule
from sepclr.nets import EncodedBatch, TwoBranchEncoder
from sepclr.nets.speed import default_channels_last, resolve_view_passes
from sepclr.objectives import SepCLRObjectiveSettings, build_independence, sepclr_objective
from sepclr.views import build_views, view_options

RESULTS = Path(__file__).parent / "results"
BACKBONES = [  # backbone, image shape, batch size
    ("convnet", (1, 28, 28), 64),
    ("convnet", (1, 28, 28), 256),
    ("resnet18", (3, 32, 32), 64),
]
OPTIONS = {  # row label: (view passes, speed options)
    "fused, float32": ("fused", StepSpeed()),
    "separate, float32": ("separate", StepSpeed()),
    "auto, channels-last": ("auto", StepSpeed(channels_last=True)),
    "auto, bfloat16": ("auto", StepSpeed(precision="bfloat16")),
    "auto, compile": ("auto", StepSpeed(compile=True)),
}
STEP_CONFIGS = [("convnet", (1, 28, 28), 256), ("resnet18", (3, 32, 32), 64)]
PROCESSES = [1, 2]
THREADS = [1, 0]  # 0: torch's default, one per core
CROPS = [  # image shape, batch, kornia cropping mode
    ((1, 28, 28), 512, "slice"),
    ((1, 28, 28), 512, "resample"),
    ((3, 32, 32), 128, "slice"),
    ((3, 32, 32), 128, "resample"),
]
MEMORY_DTYPES = ["uint8", "float32", "float64"]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _peak_mb(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _loss(is_target: torch.Tensor, first: EncodedBatch, second: EncodedBatch) -> torch.Tensor:
    loss, _ = sepclr_objective(
        (first.common_head, second.common_head),
        (first.salient_head, second.salient_head),
        is_target,
        SepCLRObjectiveSettings(),
    )
    return loss


def measure_backbone(
    backbone: str, shape: tuple[int, ...], batch: int, steps: int, device_name: str
):
    """Table 1: fused vs two passes, loss share, peak memory (a hand-written step, so that
    the two forward schemes differ in nothing else; the memory layout is the device's
    default for the backbone). The loss share is over the step with the view passes that
    ``"auto"`` chooses."""
    device = resolve_device(device_name)
    torch.manual_seed(0)
    encoder = TwoBranchEncoder(backbone, shape, 32, 32, salient_projector=False).to(device)
    layout = default_channels_last(device, True, backbone)
    set_memory_format(encoder, layout)
    optimizer = torch.optim.Adam(encoder.parameters(), lr=3e-4)
    views = build_views(view_options("image"), shape).to(device)
    x = torch.rand(batch, *shape, device=device)
    if layout:
        x = x.contiguous(memory_format=torch.channels_last)
    is_target = torch.arange(batch, device=device) % 2 == 1

    def fused() -> None:
        with torch.no_grad():
            both = torch.cat([views(x), views(x)])
        out = encoder(both)
        first = EncodedBatch(*(t[:batch] for t in out))
        second = EncodedBatch(*(t[batch:] for t in out))
        optimizer.zero_grad(set_to_none=True)
        _loss(is_target, first, second).backward()
        optimizer.step()

    def separate() -> None:
        with torch.no_grad():
            a, b = views(x), views(x)
        optimizer.zero_grad(set_to_none=True)
        _loss(is_target, encoder(a), encoder(b)).backward()
        optimizer.step()

    def loss_only() -> None:
        heads = [torch.randn(batch, 32, device=device, requires_grad=True) for _ in range(4)]
        first = EncodedBatch(heads[0], heads[0], heads[1], heads[1])
        second = EncodedBatch(heads[2], heads[2], heads[3], heads[3])
        _loss(is_target, first, second).backward()

    def seconds(step) -> float:
        step()  # warm-up
        _sync(device)
        start = time.perf_counter()
        for _ in range(steps):
            step()
        _sync(device)
        return (time.perf_counter() - start) / steps

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    fused_s = seconds(fused)
    separate_s = seconds(separate)
    loss_s = seconds(loss_only)
    chosen = resolve_view_passes("auto", device, backbone)
    return {
        "row": f"{backbone} {shape[1]}x{shape[2]}x{shape[0]}, batch {batch}",
        "pairs/s (fused)": batch / fused_s,
        "pairs/s (two passes)": batch / separate_s,
        "fused speed-up": separate_s / fused_s,
        "auto": chosen,
        "channels-last": layout,
        "loss share %": 100 * loss_s / (fused_s if chosen == "fused" else separate_s),
        "peak MB": _peak_mb(device),
        "device": str(device),
    }


def _library_steps(
    backbone: str,
    shape: tuple[int, ...],
    batch: int,
    steps: int,
    device: torch.device,
    speed: StepSpeed,
    shard: Shard,
    view_passes: str = "auto",
) -> list[float]:
    """Seconds between consecutive steps of ``TrainingPlan.run`` (2 warm-up steps left out),
    timed where the loss is computed."""
    torch.manual_seed(0)
    encoder = TwoBranchEncoder(backbone, shape, 32, 32, salient_projector=False)
    views = build_views(view_options("image"), shape).to(device)
    inputs = torch.randint(0, 256, ((steps + 3) * batch, *shape), dtype=torch.uint8)
    is_target = torch.arange(len(inputs)) % 2 == 1
    stamps: list[float] = []

    class TimedModule(SepCLRModule):
        def loss(self, batch, forward):
            first, second, _, _ = self.encode_pair(batch, forward)
            _sync(device)
            stamps.append(time.perf_counter())
            return sepclr_objective(
                (first.common_head, second.common_head),
                (first.salient_head, second.salient_head),
                batch.is_target,
                SepCLRObjectiveSettings(),
                "k-jem",
                batch.shard,
            )

    module = TimedModule(
        encoder,
        views,
        build_independence("k-jem", 32, 32),
        SepCLRObjectiveSettings(),
        view_passes=resolve_view_passes(view_passes, device, backbone),
    )
    plan = TrainingPlan(1, batch, 3e-4, device, speed=speed, shard=shard, verbose=False)
    data = TrainingData(inputs, is_target, lambda x: x.float() / 255.0)
    plan.run(module, data, torch.Generator().manual_seed(0))
    return [b - a for a, b in itertools.pairwise(stamps[2:])]


def measure_option(
    backbone: str, shape: tuple[int, ...], batch: int, option: str, steps: int, device_name: str
):
    """Table 2: the library's step with one speed option."""
    device = resolve_device(device_name)
    passes, speed = OPTIONS[option]
    row = f"{backbone} {shape[1]}x{shape[2]}x{shape[0]}, batch {batch}, {option}"
    if not native_precision(speed.precision, device):
        return {"row": row, "pairs/s": float("nan"), "peak MB": float("nan"), "device": str(device)}
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    intervals = _library_steps(backbone, shape, batch, steps, device, speed, SINGLE_PROCESS, passes)
    return {
        "row": row,
        "pairs/s": batch / statistics.median(intervals),
        "peak MB": _peak_mb(device),
        "device": str(device),
    }


def measure_crop(shape: tuple[int, ...], batch: int, mode: str, steps: int, device_name: str):
    """Table 6: kornia's random resized crop of a batch, image by image ("slice", what a
    per-image crop and resize does) or as one affine resampling ("resample", the library's)."""
    device = resolve_device(device_name)
    crop = K.RandomResizedCrop(shape[1:], scale=(0.7, 1.0), ratio=(0.8, 1.25), cropping_mode=mode)
    x = torch.rand(batch, *shape, device=device)
    crop(x)
    _sync(device)
    start = time.perf_counter()
    for _ in range(steps):
        crop(x)
    _sync(device)
    return {
        "row": f"{shape[1]}x{shape[2]}x{shape[0]}, batch {batch}, {mode}",
        "ms per batch": 1000 * (time.perf_counter() - start) / steps,
        "device": str(device),
    }


def measure_threads(threads: int, steps: int, device_name: str):
    """Table 3: the library's default step for the convnet with ``threads`` intra-op threads
    (0: torch's default)."""
    if threads:
        torch.set_num_threads(threads)
    row = measure_option("convnet", (1, 28, 28), 256, "auto, channels-last", steps, device_name)
    return {**row, "row": f"convnet 28x28x1, batch 256, {torch.get_num_threads()} thread(s)"}


def _process_worker(
    rank: int, world: int, store: str, out: str, steps: int, device_name: str
) -> None:
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))
    backend = "nccl" if resolve_device(device_name).type == "cuda" else "gloo"
    dist.init_process_group(backend, init_method=f"file://{store}", rank=rank, world_size=world)
    try:
        shard = Shard.current()
        device = process_device(resolve_device(device_name), shard)
        if device.type == "cuda":
            device = torch.device("cuda", rank)
            torch.cuda.set_device(device)
        backbone, shape, batch = STEP_CONFIGS[0]
        intervals = _library_steps(backbone, shape, batch, steps, device, StepSpeed(), shard)
        if rank == 0:
            Path(out).write_text(json.dumps(intervals))
    finally:
        dist.destroy_process_group()


def measure_processes(world: int, steps: int, device_name: str):
    """Table 3: the library's step on ``world`` processes, same global batch."""
    backbone, shape, batch = STEP_CONFIGS[0]
    with tempfile.TemporaryDirectory() as tmp:
        out = f"{tmp}/intervals.json"
        mp.start_processes(
            _process_worker,
            args=(world, f"{tmp}/store", out, steps, device_name),
            nprocs=world,
            start_method="spawn",
        )
        intervals = json.loads(Path(out).read_text())
    return {
        "row": f"{backbone} {shape[1]}x{shape[2]}x{shape[0]}, batch {batch}, {world} process(es)",
        "pairs/s": batch / statistics.median(intervals),
        "device": str(resolve_device(device_name)),
    }


def measure_memory(dtype: str):
    """Table 4: resident memory added by ``SepCLR.fit(epochs=0)`` on 60,000 28x28 images."""
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(60_000, 1, 28, 28), dtype=np.uint8)
    data = pixels if dtype == "uint8" else np.empty(pixels.shape, dtype=dtype)
    for start in range(0, len(data), 1000) if dtype != "uint8" else ():  # no full-size temporary
        data[start : start + 1000] = pixels[start : start + 1000] / 255.0
    background, target = data[:30_000], data[30_000:]
    given_mb = data.nbytes / 2**20
    SepCLR(epochs=0, verbose=False, device="cpu").fit(data[:64], data[64:128])  # imports, setup
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    SepCLR(epochs=0, verbose=False, device="cpu").fit(background, target)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "row": f"60,000 images given as {dtype}",
        "given MB": given_mb,
        "added by fit MB": after - before,
    }


def _usable_process_counts(device_name: str) -> int:
    """How many entries of PROCESSES this machine can run (NCCL needs a GPU per process)."""
    if resolve_device(device_name).type != "cuda":
        return len(PROCESSES)
    return sum(world <= torch.cuda.device_count() for world in PROCESSES)


def _children(kind: str, count: int, args: argparse.Namespace) -> list[dict]:
    rows = []
    for index in range(count):
        command = [sys.executable, __file__, "--one", kind, str(index), "--steps", str(args.steps)]
        command += ["--device", args.device]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"{kind} {index} failed:\n{done.stderr[-3000:]}")
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    return rows


def _one(kind: str, index: int, args: argparse.Namespace) -> dict:
    if kind == "backbone":
        return measure_backbone(*BACKBONES[index], args.steps, args.device)
    if kind == "option":
        config = STEP_CONFIGS[index // len(OPTIONS)]
        return measure_option(*config, list(OPTIONS)[index % len(OPTIONS)], args.steps, args.device)
    if kind == "crop":
        return measure_crop(*CROPS[index], max(args.steps, 10), args.device)
    if kind == "threads":
        return measure_threads(THREADS[index], args.steps, args.device)
    if kind == "processes":
        return measure_processes(PROCESSES[index], args.steps, args.device)
    return measure_memory(MEMORY_DTYPES[index])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--one", nargs=2, help=argparse.SUPPRESS)  # a child's configuration
    parser.add_argument(
        "--only", help="comma-separated tables to measure again (the others are kept)"
    )
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(_one(args.one[0], int(args.one[1]), args)))
        return
    runs = {
        "backbones": ("backbone", len(BACKBONES)),
        "step options": ("option", len(STEP_CONFIGS) * len(OPTIONS)),
        "threads": ("threads", len(THREADS)),
        "processes": ("processes", _usable_process_counts(args.device)),
        "data memory": ("memory", len(MEMORY_DTYPES)),
        "crop": ("crop", len(CROPS)),
    }
    device = str(resolve_device(args.device))
    suffix = "" if device == "cpu" else f"_{device.split(':')[0]}"
    previous = RESULTS / f"throughput{suffix}.json"
    tables = json.loads(previous.read_text()) if args.only and previous.exists() else {}
    for title, (kind, count) in runs.items():
        if not args.only or title in args.only.split(","):
            tables[title] = _children(kind, count, args)
    threads = torch.get_num_threads()
    parts = [
        "# Training throughput of SepCLR (k-JEM) and the memory of its data\n",
        f"Device: {device} ({threads} CPU threads). Command: `python benchmarks/throughput.py "
        f"--steps {args.steps}`"
        + (f" (then `--only {args.only}` measured those tables again alone)" if args.only else "")
        + ". 'pairs/s' counts samples, each seen as two views. Peak MB is "
        "the process's peak resident memory on a CPU, the peak allocated GPU memory on CUDA.\n",
    ]
    notes = {
        "backbones": f"A hand-written step (views, forward, k-JEM objective, Adam) in the "
        f"device's default memory layout ('channels-last'); mean of {args.steps} steps after "
        "one warm-up. 'auto' is the view passes the library chooses here; 'loss share' is the "
        "objective's forward and backward alone on random heads, over that step.",
        "step options": f"The library's step (`TrainingPlan.run`: uint8 batch to float, two views, "
        f"forward, objective, Adam); median of {args.steps} steps after 2 warm-up steps "
        "(compilation happens there). 'auto' rows use the view passes the library chooses "
        "here; a half precision the CPU only emulates is not measured (nan).",
        "threads": "The library's default step (fused passes, channels-last on a CPU) with one "
        "intra-op thread and with torch's default of one per core.",
        "processes": "The library's step with the same global batch split over processes "
        "(DistributedDataParallel; gloo and one thread per core on a CPU, NCCL on GPUs); median "
        "step time of the first process.",
        "crop": "kornia's random resized crop of one batch (scale 0.7-1), image by image "
        "('slice') or as one affine resampling of the batch ('resample', the library's views); "
        "mean over at least 10 calls after one.",
        "data memory": "Resident memory that `SepCLR(epochs=0).fit` adds over the arrays the "
        "caller holds (validation, stacking of the two groups, standardiser): uint8 images are "
        "kept as uint8 and scaled batch by batch.",
    }
    for title, rows in tables.items():
        columns = [c for c in rows[0] if c not in ("row", "device")]
        table = markdown_table({r["row"]: r for r in rows}, columns)
        parts.append(f"## {title.capitalize()}\n\n{notes[title]}\n\n{table}\n")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"throughput{suffix}.md").write_text("\n".join(parts))
    (RESULTS / f"throughput{suffix}.json").write_text(json.dumps(tables, indent=2) + "\n")
    print("\n".join(parts))


if __name__ == "__main__":
    main()
