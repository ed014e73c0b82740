#!/usr/bin/env bash
# Side-by-side: Python diffusers (bench/python/diffusers_bench.py) against `papillon-cli bench`,
# same machine, same run, same thread count, same shapes, random weights, fp32 (or DTYPE).
#
#   bench/side_by_side.sh [PAPILLON_CLI] [OUT_DIR]
#
#   PAPILLON_CLI  default build/app/papillon-cli
#   OUT_DIR       where the raw JSON of every call goes (default: a new temporary folder)
#
# Environment:
#   PYTHON        the interpreter with torch + diffusers importable (default /usr/bin/python3,
#                 Debian's, whose python3-torch uses the same LibTorch 1.13.1 as Papillon)
#   THREADS       intra-op threads on both sides (default 2)
#   UNET2D_ITERS  timed butterflies forwards after one warm-up (default 3)
#   SD_ITERS      timed SD 1.5 UNet steps after one warm-up (default 1)
#   DTYPE         fp32 (default) or bf16: the compute dtype on both sides
#   SETTINGS      the BLAS settings to run (default "default SkylakeX")
#
# Two BLAS settings, each running Papillon then Python per model, so the calls interleave
# (ours, theirs, ours, theirs) and machine load falls on both alike:
#   default   OPENBLAS_CORETYPE (and OPENBLAS_L2_SIZE) unset: what a Python user gets. Papillon
#             sets OPENBLAS_CORETYPE itself (core/util/environment.cpp) and re-executes.
#   SkylakeX  OPENBLAS_CORETYPE=SkylakeX for both: the same BLAS kernels, engine against engine.
# Compared figures: butterflies forward = Papillon `forward_ms` (median of the timed calls) vs
# Python `ms_median`; SD = Papillon `unet_step_cfg_512.ms` (only the UNet step of `bench sd`,
# which also times the text encoder and the VAE) vs Python `ms_median`.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
cli="${1:-$repo/build/app/papillon-cli}"
out="${2:-$(mktemp -d -t side-by-side.XXXXXX)}"
python="${PYTHON:-/usr/bin/python3}"
threads="${THREADS:-2}"
unet2d_iters="${UNET2D_ITERS:-3}"
sd_iters="${SD_ITERS:-1}"
dtype="${DTYPE:-fp32}"
settings="${SETTINGS:-default SkylakeX}"
mkdir -p "$out"

[ -x "$cli" ] || { echo "no papillon-cli at $cli" >&2; exit 1; }

# Keeps the JSON object of a command's stdout (from the first line that starts with '{').
json_only() { sed -n '/^{/,$p'; }

run() {  # run NAME ENV... -- CMD...
  local name="$1"; shift
  local envs=()
  while [ "$1" != "--" ]; do envs+=("$1"); shift; done
  shift
  echo "[$(date +%T)] load $(cut -d' ' -f1-3 /proc/loadavg) — $name" >&2
  env "${envs[@]}" "$@" | json_only > "$out/$name.json"
}

for setting in $settings; do
  if [ "$setting" = default ]; then
    blas=(-u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE)
  else
    blas=(-u OPENBLAS_L2_SIZE OPENBLAS_CORETYPE=SkylakeX)
  fi
  run "$setting-papillon-unet2d" "${blas[@]}" -- "$cli" bench unet2d \
    --config "$repo/bench/configs/ddpm-butterflies-32px" --threads "$threads" \
    --iters "$unet2d_iters" --steps 1 --dtype "$dtype" --json
  run "$setting-python-unet2d" "${blas[@]}" -- "$python" "$here/python/diffusers_bench.py" unet2d \
    --config "$repo/bench/configs/ddpm-butterflies-32px" --threads "$threads" --iters "$unet2d_iters" --dtype "$dtype"
  run "$setting-papillon-sd" "${blas[@]}" -- "$cli" bench sd \
    --config "$repo/bench/configs/stable-diffusion-v1-5" --threads "$threads" \
    --iters "$sd_iters" --dtype "$dtype" --json
  run "$setting-python-sd" "${blas[@]}" -- "$python" "$here/python/diffusers_bench.py" sd \
    --config "$repo/bench/configs/stable-diffusion-v1-5" --threads "$threads" --iters "$sd_iters" --dtype "$dtype"
done

"$python" - "$out" "$settings" <<'EOF'
import json, os, sys
out = sys.argv[1]
settings = sys.argv[2].split()
def load(name):
    with open(os.path.join(out, name + ".json")) as f:
        return json.load(f)
print(f"raw JSON: {out}")
print()
print("| model | BLAS for Python | Python ms (median; min / mean) | Papillon ms | Python / Papillon |")
print("|---|---|---|---|---|")
for setting in settings:
    for model in ("unet2d", "sd"):
        py = load(f"{setting}-python-{model}")
        pa = load(f"{setting}-papillon-{model}")
        if model == "unet2d":
            ours = pa["forward_ms"]
            label = f"butterflies UNet2DModel forward, batch 8, 32x32 ({py['iters']} timed)"
        else:
            ours = pa["unet_step_cfg_512"]["ms"]
            label = f"SD 1.5 UNet step 512x512 CFG batch 2 ({py['iters']} timed)"
        arch = ", ".join(b["architecture"] for b in (py.get("openblas") or [])) or "?"
        theirs = py["ms_median"]
        print(f"| {label} | {setting} (OpenBLAS core {arch}; Papillon: {pa['blas_core']}) "
              f"| {theirs:.0f} ({py['ms_min']:.0f} / {py['ms_mean']:.0f}) | {ours:.0f} "
              f"| {theirs / ours:.2f}× |")
py = load(f"{settings[0]}-python-sd")
print()
print(f"dtype {py.get('dtype', 'fp32')}; Python: torch {py['torch']}, diffusers {py['diffusers']}, Python {py['python']}, "
      f"attention processor {', '.join(py['attention_processor'])}, threads {py['threads']}; "
      f"peak RSS SD {py['peak_rss_gib']:.2f} GiB (UNet only), "
      f"butterflies {load(f'{settings[0]}-python-unet2d')['peak_rss_gib']:.2f} GiB")
pa = load(f"{settings[0]}-papillon-sd")
print(f"Papillon: threads {pa['threads']}; peak RSS SD {pa['peak_rss_gib']:.2f} GiB "
      f"(text encoder + UNet + VAE), after the UNet step {pa['unet_step_cfg_512']['peak_rss_gib_after']:.2f} GiB")
EOF
