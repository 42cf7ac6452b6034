"""Training throughput of one SepCLR step (k-JEM, default weights): pairs of views per second
for each backbone and batch size, the share of the step spent in the loss terms, peak
memory, and the fused two-view step (both views in one forward pass, the library's) against
two separate forward passes, measured in the same run. Each configuration runs in its own
process so that its peak memory is its own. Writes ``results/throughput.md`` and ``.json``.

    python benchmarks/throughput.py [--steps 5] [--device auto]
"""

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch

from sepclr.data.views import build_views, view_options
from sepclr.engine.devices import resolve_device
from sepclr.evaluation import markdown_table
from sepclr.nets import EncodedBatch, TwoBranchEncoder
from sepclr.objectives import SepCLRWeights, sepclr_objective

RESULTS = Path(__file__).parent / "results"
CONFIGS = [  # backbone, image shape, batch size
    ("convnet", (1, 28, 28), 64),
    ("convnet", (1, 28, 28), 256),
    ("resnet18", (3, 32, 32), 64),
    ("resnet18", (3, 32, 32), 256),
]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def measure(backbone: str, shape: tuple[int, ...], batch: int, steps: int, device_name: str):
    device = resolve_device(device_name)
    torch.manual_seed(0)
    encoder = TwoBranchEncoder(backbone, shape, 32, 32, salient_projector=False).to(device)
    optimizer = torch.optim.Adam(encoder.parameters(), lr=3e-4)
    views = build_views(view_options("image"), shape).to(device)
    x = torch.rand(batch, *shape, device=device)
    is_target = torch.arange(batch, device=device) % 2 == 1
    weights = SepCLRWeights()

    def loss_of(first: EncodedBatch, second: EncodedBatch) -> torch.Tensor:
        loss, _ = sepclr_objective(
            (first.common_head, second.common_head),
            (first.salient_head, second.salient_head),
            is_target,
            weights,
        )
        return loss

    def fused() -> None:
        with torch.no_grad():
            both = torch.cat([views(x), views(x)])
        out = encoder(both)
        first = EncodedBatch(*(t[:batch] for t in out))
        second = EncodedBatch(*(t[batch:] for t in out))
        optimizer.zero_grad(set_to_none=True)
        loss_of(first, second).backward()
        optimizer.step()

    def separate() -> None:
        with torch.no_grad():
            a, b = views(x), views(x)
        optimizer.zero_grad(set_to_none=True)
        loss_of(encoder(a), encoder(b)).backward()
        optimizer.step()

    def loss_only() -> None:
        heads = [torch.randn(batch, 32, device=device, requires_grad=True) for _ in range(4)]
        first = EncodedBatch(heads[0], heads[0], heads[1], heads[1])
        second = EncodedBatch(heads[2], heads[2], heads[3], heads[3])
        loss_of(first, second).backward()

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
    peak_mb = (
        torch.cuda.max_memory_allocated() / 2**20
        if device.type == "cuda"
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    )
    return {
        "backbone": f"{backbone} {shape[1]}x{shape[2]}x{shape[0]}",
        "batch": batch,
        "pairs/s (fused)": batch / fused_s,
        "pairs/s (two passes)": batch / separate_s,
        "fused speed-up": separate_s / fused_s,
        "loss share %": 100 * loss_s / fused_s,
        "peak MB": peak_mb,
        "device": str(device),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)  # a child's configuration
    args = parser.parse_args()
    if args.one is not None:
        backbone, shape, batch = CONFIGS[args.one]
        print(json.dumps(measure(backbone, shape, batch, args.steps, args.device)))
        return
    rows = []
    for index in range(len(CONFIGS)):
        command = [sys.executable, __file__, "--one", str(index), "--steps", str(args.steps)]
        command += ["--device", args.device]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    columns = ["pairs/s (fused)", "pairs/s (two passes)", "fused speed-up", "loss share %"]
    columns.append("peak MB")
    table = markdown_table({f"{r['backbone']}, batch {r['batch']}": r for r in rows}, columns)
    threads = torch.get_num_threads()
    header = (
        "# Training throughput of one SepCLR step (k-JEM)\n\n"
        f"Device: {rows[0]['device']} ({threads} CPU threads); mean of {args.steps} steps after "
        "one warm-up; 'pairs/s' counts samples, each seen as two views. Peak MB is the "
        "process's peak resident memory on a CPU, the peak allocated GPU memory on CUDA. "
        "Command: `python benchmarks/throughput.py`\n\n"
    )
    RESULTS.mkdir(exist_ok=True)
    suffix = "" if rows[0]["device"] == "cpu" else f"_{rows[0]['device'].split(':')[0]}"
    (RESULTS / f"throughput{suffix}.md").write_text(header + table + "\n")
    (RESULTS / f"throughput{suffix}.json").write_text(json.dumps(rows, indent=2) + "\n")
    print(table)


if __name__ == "__main__":
    main()
