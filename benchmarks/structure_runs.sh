#!/bin/bash
# Five short runs; prints the sha256 of each weights.safetensors and results.md.
# usage: benchmarks/structure_runs.sh SRC_DIR OUT_DIR (SRC_DIR: the src folder of a checkout,
# e.g. of a git worktree of the commit before a structure change; compare the two outputs)
set -e
SRC=$1; OUT=$2; rm -rf "$OUT"; mkdir -p "$OUT"
S="env PYTHONPATH=$SRC ${PYTHON:-.venv/bin/python} -m sepclr"
T="--dataset synthetic-tabular --quiet --device cpu"
$S fit $T --epochs 2 --plot --out $OUT/sepclr > /dev/null 2>&1
$S fit $T --method cvae --epochs 2 --out $OUT/cvae > /dev/null 2>&1
$S fit $T --method sepvae --epochs 2 --out $OUT/sepvae > /dev/null 2>&1
$S select $T --epochs 2 --candidates paper,paper-8 --out $OUT/select > /dev/null 2>&1
$S fit --dataset digits-on-fashion --size small --epochs 1 --quiet --device cpu --out $OUT/digits > /dev/null 2>&1
cd $OUT && sha256sum */weights.safetensors */results.md | sort -k2
