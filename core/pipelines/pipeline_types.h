#pragma once
// Types every pipeline shares: the per-step event, the callback, cancellation.
#include <ATen/core/Tensor.h>

#include <functional>

#include "core/util/cancel.h"

namespace papillon {

// Emitted after each denoising step.
struct StepEvent {
  int step = 0;         // 0-based index of the step just done
  int num_steps = 0;    // steps in this run (UNet calls)
  double timestep = 0;  // the scheduler timestep of this step
  at::Tensor sample;    // the sample/latents after the step (model space)
  at::Tensor pred_x0;   // the predicted original sample (model space); undefined if unknown
};

using StepCallback = std::function<void(const StepEvent&)>;

struct RunControl {
  StepCallback on_step;  // may be empty
  CancelToken cancel;    // checked before every step; a cancelled run throws papillon::Cancelled
};

}  // namespace papillon
