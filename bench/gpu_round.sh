#!/bin/sh
# The GPU round of issue 14 (§4), one prepared call on a machine with an NVIDIA GPU (the `device`
# tool's `run`, or any such machine): ours on the webgpu backend with the WGSL kernels against
# Quantus 0.6.0 + Captum 0.8.0 on PyTorch CUDA, the same script on the same machine, then the
# grid's cost on webgpu. Every result goes to $OUT (default outputs/gpu_round), with the GPU's
# name, the driver and the Vulkan ICDs in machine.txt: a run that finds no WebGPU adapter says why
# there (ours_trio.err).
#
# Needs on that machine: deno 2.9 (on PATH, or DENO=/path/to/deno; it has no network, so carry
# the binary), Vulkan with the NVIDIA ICD, python3 with a CUDA PyTorch and torchvision, and the
# Quantus and Captum sources on PYTHONPATH (as for `bench/quantus_reference.py`). About 10 minutes
# on an H100 is expected; each step has its own log, so a step that fails leaves the others'.
#
# Run: sh bench/gpu_round.sh
set -u
OUT=${OUT:-outputs/gpu_round}
DENO=${DENO:-deno}
mkdir -p "$OUT"
export DENO_WEBGPU_BACKEND=${DENO_WEBGPU_BACKEND:-vulkan} XDG_RUNTIME_DIR=/tmp PYTHONUNBUFFERED=1
{
  date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv || echo "no nvidia-smi"
  ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d 2>&1
  "$DENO" --version
} >"$OUT/machine.txt" 2>&1
step() { echo "== $1 $(date -u +%T)" >>"$OUT/machine.txt"; }

step "ours: the Grad-CAM and IG trios on resnet18, webgpu, full settings"
"$DENO" run --allow-read=. --allow-ffi bench/metrics_bench.ts --models resnet18 --backend webgpu \
  --full >"$OUT/ours_trio.md" 2>"$OUT/ours_trio.err"

step "peer: Quantus + Captum on CUDA, full settings"
python3 bench/quantus_reference.py --device cuda --full >"$OUT/peer_trio.md" 2>"$OUT/peer_trio.err"

step "the grid's cost on webgpu (sampled, as on CPU-2)"
"$DENO" run --allow-read=. --allow-run --allow-ffi bench/grid_cost.ts --backend webgpu --images 2 \
  --mprt-states 8 --sensitivity-samples 7 --cell-minutes 5 >"$OUT/grid.md" 2>"$OUT/grid.err"
step "done"
