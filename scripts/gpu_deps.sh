#!/usr/bin/env bash
# Gathers, on this Debian 12 machine, what the Qt-free core needs besides LibTorch, into .gpu-deps/
# (ignored by git), so that the `device` tool can carry it to a GPU machine that has PyTorch but no
# network and perhaps none of these packages: nlohmann-json (headers + CMake package), zlib and ICU
# (headers + shared libraries; ICU's 30 MB data library xz-compressed), and the fixtures the device
# check needs (the tiny SD and DDPM folders and their pipeline runs). About 45 MB, under the
# device tool's 64 MiB carry limit. Then, on the GPU machine: scripts/gpu_check.sh.
#
#   scripts/gpu_deps.sh [FIXTURES_DIR]    (default ../shared/fixtures)
set -euo pipefail
cd "$(dirname "$0")/.."
fixtures="${1:-../shared/fixtures}"
out=.gpu-deps
rm -rf "$out"
mkdir -p "$out/include" "$out/lib" "$out/share/cmake"
cp -r /usr/include/nlohmann "$out/include/"
cp -r /usr/share/cmake/nlohmann_json "$out/share/cmake/"  # its targets file expects ../../../include
cp /usr/include/zlib.h /usr/include/zconf.h "$out/include/"
cp -r /usr/include/unicode "$out/include/"
lib=/usr/lib/x86_64-linux-gnu
cp -L "$lib/libz.so.1" "$out/lib/"
ln -sf libz.so.1 "$out/lib/libz.so"
cp -L "$lib/libicuuc.so.72" "$out/lib/"
cp -L "$lib/libicudata.so.72" "$out/lib/"
xz -T2 -6 "$out/lib/libicudata.so.72"  # gpu_check.sh unpacks it and makes the .so links
# The fixtures of tests/device/device_fixtures.cpp (not the fp16 weights variant it does not load).
mkdir -p "$out/fixtures/pipelines" "$out/fixtures/pipeline_runs"
cp "$fixtures/README.md" "$out/fixtures/"
cp -r "$fixtures/pipelines/sd_tiny" "$fixtures/pipelines/ddpm_tiny" "$out/fixtures/pipelines/"
rm -f "$out/fixtures/pipelines/sd_tiny/unet/diffusion_pytorch_model.fp16.safetensors"
cp -r "$fixtures"/pipeline_runs/sd_* "$fixtures/pipeline_runs/ddpm_50steps_seed1_bs1" \
  "$fixtures/pipeline_runs/ddim_eta0_noclip_50steps_seed2_bs2" "$out/fixtures/pipeline_runs/"
du -sh "$out"
