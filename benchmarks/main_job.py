"""The main job (``make run``: ``sepclr fit --dataset digits-on-fashion --plot``) timed, with
its peak resident memory and its probes.

Each row runs the job in a child process and reads the child's peak resident set size
(``getrusage``), its training seconds (``run.json``) and its probes (``results.json``).
Rows are kept by label, so that runs with other settings add rows:

    python benchmarks/main_job.py --label "float32 (default)"
    python benchmarks/main_job.py --label bfloat16 --set precision=bfloat16

writes ``benchmarks/results/main_job.md`` and ``.json``.
"""

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

RESULTS = Path(__file__).parent / "results"
PROBES = ("S_digit", "C_digit", "S_object", "C_object", "delta_TOT")


def run_job(extra: list[str]) -> dict[str, float]:
    """Run the main job with ``extra`` arguments in a child process; its measurements."""
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "main"
        command = [sys.executable, "-m", "sepclr", "fit", "--dataset", "digits-on-fashion"]
        command += ["--out", str(out), "--plot", "--quiet", *extra]
        start = time.perf_counter()
        subprocess.run(command, check=True)
        wall = time.perf_counter() - start
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        run = json.loads((out / "run.json").read_text())
        rows = json.loads((out / "results.json").read_text())["rows"]
    trained = next(row for name, row in rows.items() if name.startswith("SepCLR"))
    return {
        "training s": run["fit_seconds"],
        "job s": round(wall, 1),
        "peak RSS GB": round(peak_kb / 2**20, 3),
        **{probe: trained[probe] for probe in PROBES},
    }


def _cell(column: str, value: float) -> str:
    return f"{value:.2f}" if column == "peak RSS GB" else f"{value:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--label", required=True, help="the row's name")
    parser.add_argument("--epochs", type=int, help="fewer epochs, for a quick check")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder of the results files")
    args = parser.parse_args()
    extra = ["--device", args.device] + [item for pair in args.set for item in ("--set", pair)]
    if args.epochs is not None:
        extra += ["--epochs", str(args.epochs)]
    measured = run_job(extra)
    machine = (
        f"{platform.machine()} {torch.backends.cpu.get_cpu_capability()}, "
        f"{torch.get_num_threads()} threads, torch {torch.__version__}"
    )
    command = "python benchmarks/main_job.py " + " ".join(sys.argv[1:])
    path = args.out / "main_job.json"
    rows = json.loads(path.read_text())["rows"] if path.exists() else {}
    rows[args.label] = {**measured, "command": command, "machine": machine}
    print(write_results(rows, args.out))


def write_results(rows: dict[str, dict], out: Path) -> str:
    """Write ``main_job.json`` and ``main_job.md`` into ``out``; the markdown."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "main_job.json").write_text(json.dumps({"rows": rows}, indent=2) + "\n")
    columns = ["training s", "job s", "peak RSS GB", *PROBES]
    lines = [
        "# The main job: time, peak memory, probes",
        "",
        "`sepclr fit --dataset digits-on-fashion --plot` in a child process (its peak resident "
        "memory from getrusage). Each row's command is in `main_job.json`.",
        "",
        "| row | " + " | ".join(columns) + " | machine |",
        "|---" * (len(columns) + 2) + "|",
        *(
            f"| {label} | "
            + " | ".join(_cell(c, row[c]) for c in columns)
            + f" | {row['machine']} |"
            for label, row in rows.items()
        ),
    ]
    (out / "main_job.md").write_text("\n".join(lines) + "\n")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
