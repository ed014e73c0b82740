#!/usr/bin/env bash
# Gathers, on this Debian 12 machine, what the Qt-free core needs besides LibTorch, into .gpu-deps/
# (ignored by git), so that the `device` tool can carry it to a GPU machine that has PyTorch but no
# network and perhaps none of these packages: nlohmann-json (headers + CMake package), zlib and ICU
# (headers + shared libraries). About 35 MB. Then, on the GPU machine: scripts/gpu_check.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
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
for name in icuuc icudata; do
  cp -L "$lib/lib$name.so.72" "$out/lib/"
  ln -sf "lib$name.so.72" "$out/lib/lib$name.so"
done
du -sh "$out"
