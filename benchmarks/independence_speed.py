"""Cost of each independence term alone: forward + backward on random codes (32 + 32 dims),
plus the critic's own step for the trained terms, at batch 256 and 1024, on this machine's
CPU. For scale, the last row times one forward + backward of the default two-branch
convnet encoder (width 16) on both views of a batch of 28 x 28 images. Writes
``results/independence_speed.md`` and ``.json``.

    python benchmarks/independence_speed.py [--repeats 10]
"""

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from sepclr.evaluation import markdown_table
from sepclr.nets import TwoBranchEncoder
from sepclr.objectives import build_independence
from sepclr.objectives.critics import Critic
from sepclr.objectives.registry import INDEPENDENCE_TERMS
from sepclr.registry import TERMS

RESULTS = Path(__file__).parent / "results"


def milliseconds(name: str, batch: int, repeats: int) -> float:
    torch.manual_seed(0)
    term = build_independence(name, 32, 32)
    c = torch.randn(batch, 32, requires_grad=True)
    s = torch.randn(batch, 32, requires_grad=True)
    timings = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        if isinstance(term, Critic):
            term.train_pending()
        term(F.normalize(c, dim=1), s).backward()
        timings.append(time.perf_counter() - start)
    return 1000 * sorted(timings[1:])[len(timings) // 2 - 1]  # median, first call left out


def encoder_milliseconds(batch: int, repeats: int) -> float:
    torch.manual_seed(0)
    encoder = TwoBranchEncoder("convnet", (1, 28, 28), 32, 32, salient_projector=False)
    views = torch.rand(2 * batch, 1, 28, 28)
    timings = []
    for _ in range(repeats + 1):
        start = time.perf_counter()
        encoded = encoder(views)
        (encoded.common_head.sum() + encoded.salient_head.sum()).backward()
        timings.append(time.perf_counter() - start)
    return 1000 * sorted(timings[1:])[len(timings) // 2 - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    rows = {}
    for name in INDEPENDENCE_TERMS:
        if TERMS[name].alias_of or name == "none":
            continue
        rows[name] = {f"batch {b} (ms)": milliseconds(name, b, args.repeats) for b in (256, 1024)}
    rows["encoder step (reference)"] = {
        f"batch {b} (ms)": encoder_milliseconds(b, args.repeats) for b in (256, 1024)
    }
    table = markdown_table(rows, ["batch 256 (ms)", "batch 1024 (ms)"])
    threads = torch.get_num_threads()
    header = (
        f"# Independence terms alone: forward + backward (+ critic step), 32 + 32 dims\n\n"
        f"Median of {args.repeats} calls, CPU, {threads} threads. "
        "Command: `python benchmarks/independence_speed.py`\n\n"
    )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "independence_speed.md").write_text(header + table + "\n")
    (RESULTS / "independence_speed.json").write_text(json.dumps(rows, indent=2) + "\n")
    print(table)


if __name__ == "__main__":
    main()
