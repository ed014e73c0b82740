#!/usr/bin/env python3
"""Python diffusers counterpart of `papillon-cli bench` (random weights, fp32 or bf16, CPU).

  sd      UNet2DConditionModel from bench/configs/stable-diffusion-v1-5/unet: one denoising step
          at 512x512 with classifier-free guidance (latents 2x4x64x64, timestep 981,
          encoder_hidden_states 2x77x768), the same shapes as `papillon-cli bench sd`'s UNet step.
  unet2d  UNet2DModel from bench/configs/ddpm-butterflies-32px/unet: batch 8, 3x32x32,
          timestep 500 per image, the same shapes as `papillon-cli bench unet2d`'s forward.

--dtype bf16 casts the model and its inputs with `.to(torch.bfloat16)`, what `torch_dtype=torch.bfloat16`
gives a diffusers user (the timestep stays int64).

One warm-up call, then --iters timed calls under torch.inference_mode(); prints JSON with ms per
call (min, median, mean), the attention processor diffusers picked, the OpenBLAS core in use
(threadpoolctl, if installed) and the peak RSS of the process.

Needs torch and diffusers importable (see bench/python/README.md for the setup used in
docs/performance-side-by-side.md). No weights are loaded and nothing is downloaded.
"""

import argparse
import json
import os
import resource
import statistics
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def blas_info():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    return [
        {k: lib.get(k) for k in ("internal_api", "filepath", "version", "architecture", "num_threads")}
        for lib in threadpool_info()
        if lib.get("internal_api") == "openblas"
    ]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", choices=["sd", "unet2d"])
    ap.add_argument("--iters", type=int, default=3, help="timed calls after one warm-up (default 3)")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    ap.add_argument("--batch", type=int, default=8, help="unet2d batch size (default 8)")
    ap.add_argument("--config", help="a diffusers pipeline folder of configs (default: bench/configs/...)")
    ap.add_argument("--dtype", choices=["fp32", "bf16"], default="fp32", help="compute dtype (default fp32)")
    args = ap.parse_args()

    import torch
    import diffusers
    from diffusers import UNet2DConditionModel, UNet2DModel

    torch.set_num_threads(args.threads)
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}[args.dtype]
    torch.manual_seed(0)

    def unet_config(default_folder):
        path = os.path.join(args.config or os.path.join(REPO, default_folder), "unet/config.json")
        with open(path) as f:
            return path, json.load(f)

    if args.model == "sd":
        config_path, config = unet_config("bench/configs/stable-diffusion-v1-5")
        t0 = time.perf_counter()
        model = UNet2DConditionModel.from_config(config).eval().to(dtype)
        build_s = time.perf_counter() - t0
        size = config.get("sample_size", 64)
        x = torch.randn(2, config["in_channels"], size, size).to(dtype)
        t = torch.tensor(981, dtype=torch.long)
        context = torch.randn(2, 77, config["cross_attention_dim"]).to(dtype)

        def call():
            return model(x, t, encoder_hidden_states=context).sample

        shape = {"latents": list(x.shape), "encoder_hidden_states": list(context.shape), "timestep": 981}
        name = "UNet2DConditionModel SD 1.5 step 512x512 CFG (batch 2)"
    else:
        config_path, config = unet_config("bench/configs/ddpm-butterflies-32px")
        t0 = time.perf_counter()
        model = UNet2DModel.from_config(config).eval().to(dtype)
        build_s = time.perf_counter() - t0
        size = config.get("sample_size", 32)
        size = size[0] if isinstance(size, (list, tuple)) else size
        x = torch.randn(args.batch, config["in_channels"], size, size).to(dtype)
        t = torch.full((args.batch,), 500, dtype=torch.long)
        labels = torch.zeros(args.batch, dtype=torch.long) if config.get("num_class_embeds") else None

        def call():
            return model(x, t, class_labels=labels).sample

        shape = {"sample": list(x.shape), "timestep": 500}
        name = "UNet2DModel ddpm-butterflies-32px forward"

    parameters = sum(p.numel() for p in model.parameters())
    # The attention processor each diffusers Attention module uses (diffusers picks it from the torch
    # version: AttnProcessor2_0 needs F.scaled_dot_product_attention, which torch 1.13 lacks).
    processors = sorted({type(m.processor).__name__ for m in model.modules() if hasattr(m, "processor")})

    times = []
    with torch.inference_mode():
        t0 = time.perf_counter()
        call()  # warm-up
        warmup_ms = (time.perf_counter() - t0) * 1e3
        for _ in range(args.iters):
            t0 = time.perf_counter()
            call()
            times.append((time.perf_counter() - t0) * 1e3)

    result = {
        "model": name,
        "config": config_path,
        "input": shape,
        "parameters": parameters,
        "threads": torch.get_num_threads(),
        "dtype": args.dtype,
        "torch": torch.__version__,
        "diffusers": diffusers.__version__,
        "python": sys.version.split()[0],
        "attention_processor": processors,
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
        "openblas": blas_info(),
        "build_s": build_s,
        "warmup_ms": warmup_ms,
        "iters": args.iters,
        "ms_all": times,
        "ms_min": min(times) if times else None,
        "ms_median": statistics.median(times) if times else None,
        "ms_mean": statistics.fmean(times) if times else None,
        # ru_maxrss is in KiB on Linux
        "peak_rss_gib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024.0 * 1024.0),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
