#!/usr/bin/env bash
# One short GPU check, for a machine with CUDA, PyTorch, scikit-learn, safetensors, tqdm and
# matplotlib but no network: the main job and part of Table 1 with device "auto" (= CUDA),
# timed. Optional inputs, in the repository root: .whl/ (wheels of missing packages, e.g.
# kornia and kornia_rs) and .data/fashion-mnist/ (the four IDX .gz files).
#   OUT=/some/dir bash benchmarks/gpu_check.sh   (EPOCHS=1 METHODS=sepclr for a dry run;
#   MAIN=0 skips the main job; SCALE=1 also runs benchmarks/throughput.py on CUDA (fused step,
#   channels-last, bfloat16, compile) and a bfloat16 + compile fit of the main job)
# Writes $OUT/environment.txt, $OUT/main/{config.json,weights.safetensors,results.json},
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
    start=$(date +%s)
    sepclr fit --dataset digits-on-fashion --out /tmp/main --quiet ${EPOCHS:+--epochs $EPOCHS}
    echo "main job (fit + probes + floor): $(($(date +%s) - start)) s"
    mkdir -p "$OUT/main"
    cp /tmp/main/config.json /tmp/main/weights.safetensors /tmp/main/results.json "$OUT/main/"
    fi

    if [ "${SCALE:-0}" = 1 ]; then
    start=$(date +%s)
    python3 benchmarks/throughput.py --steps 5 --device cuda
    cp benchmarks/results/throughput_cuda.md benchmarks/results/throughput_cuda.json "$OUT/"
    sepclr fit --dataset digits-on-fashion --out /tmp/fast --quiet --no-evaluate \
        --set precision=bfloat16 --set compile=true ${EPOCHS:+--epochs $EPOCHS}
    echo "scale checks: $(($(date +%s) - start)) s"
    fi

    start=$(date +%s)
    sepclr bench --dataset digits-on-fashion --methods "${METHODS:-baselines,sepclr,sepclr-none}" \
        --seeds 1 --out /tmp/table1 ${EPOCHS:+--epochs $EPOCHS}
    echo "bench: $(($(date +%s) - start)) s"
    cp /tmp/table1/methods.md /tmp/table1/methods.json "$OUT/"
    cp /tmp/table1/runs/*.png "$OUT/" 2>/dev/null || true
} 2>&1 | tee "$OUT/log.txt"
