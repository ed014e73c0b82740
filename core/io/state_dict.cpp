#include "core/io/state_dict.h"
#include "core/io/weights.h"

#include <torch/torch.h>

#include <map>
#include <sstream>
#include <unordered_map>
#include <vector>

#include "core/util/error.h"

namespace papillon {

namespace {

constexpr size_t kMaxListed = 20;

std::string shape_string(at::IntArrayRef sizes) {
  std::ostringstream out;
  out << "[";
  for (size_t i = 0; i < sizes.size(); ++i)
    out << (i ? ", " : "") << sizes[i];
  out << "]";
  return out.str();
}

// "3 missing keys: a, b, c" with at most kMaxListed names, then "and N more".
void append_list(std::string& message, const char* what, const std::vector<std::string>& names) {
  if (names.empty()) return;
  if (message.back() != ':') message += ";";
  message += " " + std::to_string(names.size()) + " " + what + ": ";
  for (size_t i = 0; i < names.size() && i < kMaxListed; ++i)
    message += (i ? ", " : "") + names[i];
  if (names.size() > kMaxListed)
    message += " and " + std::to_string(names.size() - kMaxListed) + " more";
}

bool is_digits(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

std::string map_legacy_attention_key(const std::string& key) {
  // <path>.attentions.<i>.{query,key,value,proj_attn}.{weight,bias}: the attention blocks diffusers
  // marks _from_deprecated_attn_block (UNet2DModel's Attn*Block2D, the UNet/VAE mid blocks).
  const size_t last = key.rfind('.');
  if (last == std::string::npos || last == 0) return key;
  const std::string param = key.substr(last + 1);
  if (param != "weight" && param != "bias") return key;
  const size_t second = key.rfind('.', last - 1);
  const size_t old_begin = second == std::string::npos ? 0 : second + 1;
  const std::string old = key.substr(old_begin, last - old_begin);
  const char* replacement = old == "query"       ? "to_q"
                            : old == "key"       ? "to_k"
                            : old == "value"     ? "to_v"
                            : old == "proj_attn" ? "to_out.0"
                                                 : nullptr;
  if (replacement == nullptr || second == std::string::npos) return key;
  // The parent must be "attentions.<i>".
  const std::string parent = key.substr(0, second);
  const size_t index_dot = parent.rfind('.');
  if (index_dot == std::string::npos || !is_digits(parent.substr(index_dot + 1))) return key;
  const std::string list = parent.substr(0, index_dot);
  const size_t list_dot = list.rfind('.');
  if (list.substr(list_dot == std::string::npos ? 0 : list_dot + 1) != "attentions") return key;
  return parent + "." + replacement + "." + param;
}

void load_state_dict(torch::nn::Module& module, const TensorList& tensors,
                     const std::string& source,
                     const std::function<std::string(const std::string&)>& rename) {
  load_state_dict(module, make_lazy(tensors), source, rename);
}

void load_state_dict(torch::nn::Module& module, const LazyTensorList& tensors,
                     const std::string& source,
                     const std::function<std::string(const std::string&)>& rename) {
  // Module entries in registration order (parameters, then buffers).
  std::vector<std::pair<std::string, torch::Tensor>> targets;
  for (const auto& item : module.named_parameters(/*recurse=*/true))
    targets.emplace_back(item.key(), item.value());
  for (const auto& item : module.named_buffers(/*recurse=*/true))
    targets.emplace_back(item.key(), item.value());
  std::unordered_map<std::string, size_t> index;
  for (size_t i = 0; i < targets.size(); ++i)
    index.emplace(targets[i].first, i);

  std::vector<const LazyTensor*> sources(targets.size(), nullptr);
  std::vector<std::string> unexpected, mis_shaped, repeated, missing;
  for (const LazyTensor& tensor : tensors) {
    const std::string& key = tensor.name;
    std::string name = key;
    if (rename) {
      // A key the module knows as it is stays as it is (a renaming is only ever a fallback).
      std::string renamed = rename(key);
      if (renamed != key && !(index.count(key) != 0 && index.count(renamed) == 0))
        name = std::move(renamed);
    }
    const auto it = index.find(name);
    const std::string shown = name == key ? key : key + " (as " + name + ")";
    if (it == index.end()) {
      unexpected.push_back(shown);
      continue;
    }
    if (sources[it->second] != nullptr) {
      repeated.push_back(shown);
      continue;
    }
    const torch::Tensor& target = targets[it->second].second;
    if (at::IntArrayRef(tensor.shape) != target.sizes()) {
      mis_shaped.push_back(shown + " (file " + shape_string(tensor.shape) + ", model " +
                           shape_string(target.sizes()) + ")");
    }
    sources[it->second] = &tensor;
  }
  for (size_t i = 0; i < targets.size(); ++i) {
    if (sources[i] == nullptr) missing.push_back(targets[i].first);
  }
  if (!missing.empty() || !unexpected.empty() || !mis_shaped.empty() || !repeated.empty()) {
    std::string message = source + ": the weights do not match the model:";
    append_list(message, "missing keys", missing);
    append_list(message, "unexpected keys", unexpected);
    append_list(message, "wrongly shaped keys", mis_shaped);
    append_list(message, "keys given twice", repeated);
    throw Error(message);
  }

  // Everything matches: read each tensor into its parameter (converting dtype and device to the
  // parameter's; straight into it when they agree).
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < targets.size(); ++i)
    sources[i]->read_into(targets[i].second);
}

void load_component_weights(torch::nn::Module& module, const std::string& component_dir,
                            const std::vector<std::string>& stems, const std::string& variant,
                            const std::function<std::string(const std::string&)>& rename) {
  const std::string path = find_weights_file(component_dir, stems, variant);
  load_state_dict(module, open_weights_file(path), path, rename);
}

}  // namespace papillon
