#!/usr/bin/env bash
# One short GPU check, for a machine with CUDA, PyTorch, scikit-learn, safetensors, tqdm and
# matplotlib but no network: the main job and part of Table 1 with device "auto" (= CUDA),
# timed. Optional inputs, in the repository root: .whl/ (wheels of missing packages, e.g.
# kornia and kornia_rs) and .data/fashion-mnist/ (the four IDX .gz files).
#   OUT=/some/dir bash benchmarks/gpu_check.sh   (EPOCHS=1 METHODS=sepclr for a dry run;
#   MAIN=0 skips the main job; SCALE=1 also runs benchmarks/vs_official.py at batch 512 and
#   benchmarks/throughput.py on CUDA (view passes, channels-last, bfloat16, compile))
# Writes $OUT/environment.txt, $OUT/main_job.{md,json} (the main job in float32 and in
# bfloat16 + compile: training seconds, peak memory, probes), $OUT/vs_official.{md,json},
# $OUT/methods.md, $OUT/methods.json and $OUT/log.txt.
set -euo pipefail
OUT=${OUT:?set OUT to a results directory}
if ! python3 -c "import kornia" 2>/dev/null; then
    python3 -m pip install -q --no-index --no-deps --target /tmp/site .whl/*.whl
    export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$PWD/src:${PYTHONPATH:-}" SEPCLR_DATA="$PWD/.data" PYTHONUNBUFFERED=1
sepclr() { python3 -c "import sys; from sepclr.cli import main; sys.exit(main())" "$@"; }

python3 - >"$OUT/environment.txt" <<'EOF'
import platform, torch, sklearn, kornia
print("python", platform.python_version(), "| torch", torch.__version__, "| kornia",
      kornia.__version__, "| scikit-learn", sklearn.__version__)
print("device", torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no CUDA")
EOF
cat "$OUT/environment.txt"

{
    if [ "${MAIN:-1}" = 1 ]; then
    # the main job: training seconds, peak memory and probes, float32 then bfloat16 + compile
    python3 benchmarks/main_job.py --label "float32, $(hostname)" --out "$OUT" \
        ${EPOCHS:+--epochs $EPOCHS}
    python3 benchmarks/main_job.py --label "bfloat16 + compile, $(hostname)" --out "$OUT" \
        --set precision=bfloat16 --set compile=true ${EPOCHS:+--epochs $EPOCHS}
    fi

    if [ "${SCALE:-0}" = 1 ]; then
    start=$(date +%s)
    # the official step against the library's at the paper's batch (cifar-mnist preset)
    python3 benchmarks/vs_official.py --steps 20 --batch 512 --device cuda --out "$OUT"
    python3 benchmarks/throughput.py --steps 5 --device cuda
    cp benchmarks/results/throughput_cuda.md benchmarks/results/throughput_cuda.json "$OUT/"
    echo "scale checks: $(($(date +%s) - start)) s"
    fi

    start=$(date +%s)
    sepclr bench --dataset digits-on-fashion --methods "${METHODS:-baselines,sepclr,sepclr-none}" \
        --seeds 1 --out /tmp/table1 ${EPOCHS:+--epochs $EPOCHS}
    echo "bench: $(($(date +%s) - start)) s"
    cp /tmp/table1/methods.md /tmp/table1/methods.json "$OUT/"
    cp /tmp/table1/runs/*.png "$OUT/" 2>/dev/null || true
} 2>&1 | tee "$OUT/log.txt"
