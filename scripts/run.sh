#!/usr/bin/env bash
# README command 1: installs what is needed, builds, and runs the main job: the studio window when a
# display is available, otherwise (headless) papillon-cli generating a grid of 8 images into
# out/grid.png. Until the bundled model lands, both use the tiny DDPM fixture model.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
model="${PAPILLON_MODEL:-../shared/fixtures/pipelines/ddpm_tiny}"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -x build/app/papillon ]; then
  exec ./build/app/papillon --model "$model"
fi
mkdir -p out
./build/app/papillon-cli generate --model "$model" --batch 8 --steps 50 --seed 0 \
  --out out/grid.png --save-images out/images --preview-every 10 --timeline out/timeline.png
echo "Open out/grid.png (and out/timeline.png: each row one image's denoising)."
