#!/usr/bin/env bash
# README command 1: installs what is needed, builds, and runs the main job: the studio window when a
# display is available, otherwise (headless) papillon-cli generating a grid of 8 images into
# out/grid.png, both with the bundled Fashion-MNIST model (the prompt picks the class).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
model="${PAPILLON_MODEL:-resources/models/fashion-mnist}"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -x build/app/papillon ]; then
  exec ./build/app/papillon --model "$model"
fi
mkdir -p out
./build/app/papillon-cli generate --model "$model" --prompt "an ankle boot" --batch 8 --seed 0 \
  --out out/grid.png --save-images out/images --preview-every 10 --timeline out/timeline.png
echo "Open out/grid.png (and out/timeline.png: each row one image's denoising)."
