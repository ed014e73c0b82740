#!/usr/bin/env bash
# README command 1: installs what is needed, builds, and runs the main job. Headless (no window yet),
# that is the CLI generating a grid of 8 images with the shipped tiny model into out/grid.png.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
model="${PAPILLON_MODEL:-../shared/fixtures/pipelines/ddpm_tiny}"
mkdir -p out
./build/app/papillon-cli generate --model "$model" --batch 8 --steps 50 --seed 0 \
  --out out/grid.png --save-images out/images --preview-every 10 --timeline out/timeline.png
echo "Open out/grid.png (and out/timeline.png: each row one image's denoising)."
