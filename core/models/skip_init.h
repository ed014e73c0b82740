#pragma once
// Building a model only to load weights over it. LibTorch's modules fill every new parameter with
// random numbers from the serial CPU generator: about 3 s of SD 1.5's 3.5 s UNet load, for values
// that the weights file overwrites at once. build_for_loading() builds the model with the Meta
// dispatch key included on this thread, so in-place ops on the new tensors (uniform_, normal_,
// fill_, zero_: all that initialisation does) run their Meta kernel — shape checks, no work — while
// the factories still allocate real, untouched CPU memory. Python diffusers does the same with
// accelerate's init_empty_weights.
//
// Only for models whose every parameter and buffer is then loaded strictly (load_state_dict
// refuses a file that misses one): the values start out as garbage. If anything built that way
// is not a plain CPU tensor (an out-of-place op made a meta tensor), the model is built again the
// ordinary way, so a LibTorch that dispatches differently costs time, never correctness.
#include <c10/core/impl/LocalDispatchKeySet.h>
#include <torch/nn/module.h>

#include <utility>

namespace papillon {

namespace detail {

// Includes the Meta key on this thread and restores the whole thread-local key state afterwards
// (c10's IncludeDispatchKeyGuard cannot: removing a per-backend key leaves its backend bit set).
class IncludeMetaKey {
 public:
  IncludeMetaKey() : saved_(c10::impl::tls_local_dispatch_key_set()) {
    c10::impl::tls_set_dispatch_key_included(c10::DispatchKey::Meta, true);
  }
  ~IncludeMetaKey() { c10::impl::_force_tls_local_dispatch_key_set(saved_); }
  IncludeMetaKey(const IncludeMetaKey&) = delete;
  IncludeMetaKey& operator=(const IncludeMetaKey&) = delete;

 private:
  c10::impl::LocalDispatchKeySet saved_;
};

inline bool all_on_cpu(const torch::nn::Module& module) {
  for (const auto& p : module.parameters())
    if (!p.device().is_cpu()) return false;
  for (const auto& b : module.buffers())
    if (!b.device().is_cpu()) return false;
  return true;
}
}  // namespace detail

// `make` returns a module holder (UNet2DConditionModel(config), ...).
template <typename Make>
auto build_for_loading(Make&& make) {
  {
    const detail::IncludeMetaKey skip_init;
    auto model = make();
    if (detail::all_on_cpu(*model)) return model;
  }
  return make();
}

}  // namespace papillon
