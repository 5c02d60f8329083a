#!/usr/bin/env bash
# One call on a machine with an NVIDIA GPU: prints one table (bench/gpu-check.mjs documents it) of
# which providers open (cpu, cuda, webgpu) and why the others don't; parity of CUDA and WebGPU
# against the CPU on models/default and a GPT-2-small-shaped checkpoint; forward and generation
# speed; ROME and MEMIT time per edit on a GPT-2-XL-shaped checkpoint; an unlearning step; peak
# GPU memory.
#
#   bash bench/gpu-check.sh                      # on a CPU machine: prints "no GPU: …" and exits 0
#   bash bench/gpu-check.sh --providers cpu --small   # the same table, CPU only, tiny shapes (tests the script)
#   VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json bash bench/gpu-check.sh --providers cpu,webgpu --small
#                                                # + WebGPU on SwiftShader (a CPU Vulkan): the parity columns
#   bash bench/gpu-check.sh [bench/gpu-check.mjs options]   # e.g. --xl-steps 2 --json FILE
#
# Exit code 0 when the table was printed or there is no GPU; non-zero when the script itself failed.
# Compiles out/ (npx tsc -p .) when it is missing. First run on a GPU machine writes two random
# checkpoints (0.5 GB and 6.2 GB) into ~/.cache/mechedit-bench/ckpt/ (or $MECHEDIT_BENCH_CACHE).
set -euo pipefail
cd "$(dirname "$0")/.."

# --providers given: run those, GPU or not (cpu alone, or webgpu on a CPU Vulkan driver such as
# SwiftShader: VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json).
chosen=0
for a in "$@"; do
  case "$a" in --providers | --providers=*) chosen=1 ;; esac
done

# An NVIDIA GPU: the driver's device node and a working nvidia-smi.
why=""
if [ ! -e /dev/nvidiactl ]; then
  why="no /dev/nvidiactl (no NVIDIA driver or device)"
elif ! command -v nvidia-smi >/dev/null 2>&1; then
  why="no nvidia-smi on the PATH"
elif ! nvidia-smi -L >/dev/null 2>&1; then
  why="nvidia-smi lists no GPU"
fi
if [ -n "$why" ] && [ "$chosen" = 0 ]; then
  echo "no GPU: $why. Nothing to measure; \`bash bench/gpu-check.sh --providers cpu --small\` runs the same table on the CPU alone."
  exit 0
fi

if [ ! -f out/src/core/runtime/model.js ] || [ ! -f out/src/core/runtime/gpuLibs.js ]; then
  echo "compiling out/ (npx tsc -p .)" >&2
  npx tsc -p .
fi
if [ -z "$why" ]; then
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader >&2
  # What `mechedit doctor` finds missing for CUDA and WebGPU (informational; the table says what opens).
  node out/src/cli/main.js doctor --size 16 --iterations 2 >&2 || true
fi
exec node bench/gpu-check.mjs "$@"
