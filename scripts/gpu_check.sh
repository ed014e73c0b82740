#!/usr/bin/env bash
# The prepared GPU run (issue 7, CUDA): on a machine with a CUDA PyTorch in python3 and no Qt,
# builds the Qt-free core, papillon-bench and device_fixtures against PyTorch's bundled LibTorch;
# runs the fixtures' pipeline runs on the GPU (fp32 within the fixtures' tolerance, fp16 within the
# documented bound); then benchmarks the butterflies UNet2DModel and Stable Diffusion 1.5 (random
# weights) on the GPU in fp32 and fp16, and on its CPU for scale. Results (logs + JSON) go to $OUT
# (the device tool's output folder) or out/gpu.
#
#   here:  scripts/gpu_deps.sh                 (once: .gpu-deps/ with nlohmann-json, zlib, ICU)
#   there: run(command="bash scripts/gpu_check.sh", carry=[".gpu-deps"])
#
# Every step is timed and logged; a failing step is reported and the script goes on where it can.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-out/gpu}"
mkdir -p "$out"
log="$out/gpu_check.log"
exec > >(tee -a "$log") 2>&1
step() { echo; echo "== $(date +%T) $*"; }

step "machine"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv || true
nproc; free -g | head -2
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, torch.cuda.is_available())'
prefix="$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')"
echo "LibTorch CMake prefix: $prefix"

deps="$PWD/.gpu-deps"
extra=()
if [ -d "$deps" ]; then
  if [ -f "$deps/lib/libicudata.so.72.xz" ] && [ ! -f "$deps/lib/libicudata.so.72" ]; then
    xz -dk "$deps/lib/libicudata.so.72.xz"
  fi
  for name in icuuc icudata; do ln -sf "lib$name.so.72" "$deps/lib/lib$name.so"; done
  ln -sf libz.so.1 "$deps/lib/libz.so"
  extra+=("-Dnlohmann_json_DIR=$deps/share/cmake/nlohmann_json"
    "-DZLIB_INCLUDE_DIR=$deps/include" "-DZLIB_LIBRARY=$deps/lib/libz.so"
    "-DICU_ROOT=$deps" "-DICU_INCLUDE_DIR=$deps/include"
    "-DICU_UC_LIBRARY_RELEASE=$deps/lib/libicuuc.so")
  export LD_LIBRARY_PATH="$deps/lib:${LD_LIBRARY_PATH:-}"
fi
gen=()
command -v ninja >/dev/null && gen=(-G Ninja)

step "configure (Qt-free core, CUDA LibTorch)"
cmake -S . -B build-gpu "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DPAPILLON_WITH_QT=OFF \
  -DCMAKE_PREFIX_PATH="$prefix" "${extra[@]}" || { echo "configure failed"; exit 1; }
step "build papillon-bench and device_fixtures"
time cmake --build build-gpu -j "$(nproc)" --target papillon-bench device_fixtures ||
  { echo "build failed"; exit 1; }
bench=build-gpu/papillon-bench

fixtures="${PAPILLON_FIXTURES:-$deps/fixtures}"
step "fixtures on cuda (fp32: the fixtures' tolerance; fp16: the documented bound)"
PAPILLON_FIXTURES="$fixtures" PAPILLON_TEST_DEVICE=cuda timeout 300 \
  build-gpu/tests/device/device_fixtures | tee "$out/device_fixtures_cuda.txt" ||
  echo "device_fixtures on cuda failed (rc ${PIPESTATUS[0]})"

run() {  # run NAME ARGS...: one benchmark, its JSON kept
  local name="$1"; shift
  step "$name: papillon-bench $*"
  timeout 300 "$bench" "$@" --json > "$out/$name.json" || echo "$name failed (rc $?)"
  cat "$out/$name.json"
}
run unet2d-cuda-fp32 unet2d --device cuda --dtype fp32 --iters 20 --steps 50
run unet2d-cuda-fp16 unet2d --device cuda --dtype fp16 --iters 20 --steps 50
run sd-cuda-fp32 sd --device cuda --dtype fp32 --iters 20
run sd-cuda-fp16 sd --device cuda --dtype fp16 --iters 20
run unet2d-cpu-fp32 unet2d --device cpu --dtype fp32 --iters 3 --steps 2 --threads "$(nproc)"
step "done: $out"
