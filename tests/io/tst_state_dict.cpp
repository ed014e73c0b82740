// Strict state-dict loading: exact copies with dtype conversion, one Error listing every missing,
// unexpected and wrongly shaped key (and nothing copied then), and the 2022 attention-name mapping.
#include <torch/torch.h>

#include <QtTest/QtTest>

#include <filesystem>

#include "core/io/safetensors.h"
#include "core/io/state_dict.h"
#include "core/io/weights.h"
#include "core/models/skip_init.h"
#include "core/util/error.h"
#include "tests/common/fixtures.h"

using papillon::Error;
using papillon::TensorList;

namespace {

// Names like a diffusers attention block inside a mid block: attentions.0.to_q / to_out.0 ...
struct AttnImpl : torch::nn::Module {
  AttnImpl() {
    group_norm = register_module("group_norm", torch::nn::GroupNorm(2, 4));
    to_q = register_module("to_q", torch::nn::Linear(4, 4));
    to_k = register_module("to_k", torch::nn::Linear(4, 4));
    to_v = register_module("to_v", torch::nn::Linear(4, 4));
    to_out = register_module("to_out", torch::nn::ModuleList(torch::nn::Linear(4, 4)));
  }
  torch::nn::GroupNorm group_norm{nullptr};
  torch::nn::Linear to_q{nullptr}, to_k{nullptr}, to_v{nullptr};
  torch::nn::ModuleList to_out{nullptr};
};
TORCH_MODULE(Attn);

struct NetImpl : torch::nn::Module {
  explicit NetImpl(int64_t extra = 0) {
    conv_in = register_module("conv_in", torch::nn::Conv2d(torch::nn::Conv2dOptions(3, 4, 3)));
    // No bias: LibTorch registers an undefined "bias" that is not part of the state dict.
    conv_out = register_module("conv_out",
                               torch::nn::Conv2d(torch::nn::Conv2dOptions(4, 4, 1).bias(false)));
    attentions = register_module("attentions", torch::nn::ModuleList(Attn()));
    counter = register_buffer("counter", torch::zeros({2}, torch::kLong));
    for (int64_t i = 0; i < extra; ++i)
      register_parameter("extra_" + std::to_string(i), torch::zeros({1}));
  }
  torch::nn::Conv2d conv_in{nullptr}, conv_out{nullptr};
  torch::nn::ModuleList attentions{nullptr};
  torch::Tensor counter;
};
TORCH_MODULE(Net);

// A constructor that computes a parameter out of place: built under the Meta key it would come out
// as a meta tensor, so build_for_loading must fall back to an ordinary build.
struct ComputedImpl : torch::nn::Module {
  ComputedImpl() { w = register_parameter("w", torch::ones({3}) * 2); }
  torch::Tensor w;
};
TORCH_MODULE(Computed);

// Random tensors for every entry of a module, in registration order.
TensorList random_state(torch::nn::Module& m, torch::Dtype dtype = torch::kFloat) {
  TensorList out;
  for (const auto& p : m.named_parameters())
    out.emplace_back(p.key(), torch::randn(p.value().sizes()).to(dtype));
  for (const auto& b : m.named_buffers())
    out.emplace_back(b.key(), torch::randint(0, 100, b.value().sizes()));
  return out;
}

void expect_equal(torch::nn::Module& m, const TensorList& tensors) {
  auto params = m.named_parameters();
  auto buffers = m.named_buffers();
  for (const auto& [name, t] : tensors) {
    const torch::Tensor* target = params.find(name);
    if (target == nullptr) target = buffers.find(name);
    QVERIFY2(target != nullptr, name.c_str());
    QVERIFY2(torch::equal(*target, t.to(target->scalar_type())), name.c_str());
  }
}

std::string load_error(torch::nn::Module& m, const TensorList& tensors,
                       const std::function<std::string(const std::string&)>& rename = {}) {
  try {
    papillon::load_state_dict(m, tensors, "unet/weights.safetensors", rename);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

}  // namespace

class TestStateDict : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() {
    at::set_num_threads(1);
    torch::manual_seed(0);
  }

  void loads_exactly() {
    Net net;
    const TensorList state = random_state(*net);
    papillon::load_state_dict(*net, state, "net");
    expect_equal(*net, state);
    // Parameters still require grad and the copy is not recorded by autograd.
    QVERIFY(net->conv_in->weight.requires_grad());
    QVERIFY(net->conv_in->weight.grad_fn() == nullptr);
    // Order in the file does not matter.
    TensorList reversed(state.rbegin(), state.rend());
    for (auto& [name, t] : reversed)
      t = t * 2;
    papillon::load_state_dict(*net, reversed, "net");
    expect_equal(*net, reversed);
  }

  void converts_dtypes() {
    Net net;
    // fp16 / bf16 file into an fp32 module: exact (every fp16/bf16 value is an fp32 value).
    for (const auto dtype : {torch::kHalf, torch::kBFloat16}) {
      const TensorList state = random_state(*net, dtype);
      papillon::load_state_dict(*net, state, "net");
      QCOMPARE(net->conv_in->weight.scalar_type(), torch::kFloat);
      expect_equal(*net, state);
    }
    // fp32 file into an fp16 module: rounded like .to(half).
    net->to(torch::kHalf);
    const TensorList state = random_state(*net);
    papillon::load_state_dict(*net, state, "net");
    QCOMPARE(net->conv_in->weight.scalar_type(), torch::kHalf);
    expect_equal(*net, state);
  }

  void loads_files_straight_into_the_parameters() {
    // Weights files are read on demand, each tensor into its parameter's own memory: no second
    // copy of the model, and (with pread, not a mapping) a file truncated meanwhile is an Error.
    const std::string dir = papillon::test::temp_dir("state_dict");
    Net net;
    const void* memory = net->conv_in->weight.data_ptr();
    for (const auto dtype : {torch::kFloat, torch::kHalf}) {
      const TensorList state = random_state(*net, dtype);
      const std::string path = dir + "/net.safetensors";
      papillon::save_safetensors(path, state);
      papillon::load_state_dict(*net, papillon::open_weights_file(path), path);
      expect_equal(*net, state);
      QCOMPARE(net->conv_in->weight.data_ptr(), memory);
    }
    const std::string path = dir + "/net.safetensors";
    const papillon::LazyTensorList lazy = papillon::open_weights_file(path);
    std::filesystem::resize_file(path, 200);
    try {
      papillon::load_state_dict(*net, lazy, path);
      QFAIL("no error");
    } catch (const Error& e) {
      const std::string message = e.what();
      QVERIFY2(message.find(path) != std::string::npos, e.what());
      QVERIFY2(message.find("truncated") != std::string::npos, e.what());
    }
  }

  void builds_for_loading_without_initialising() {
    // build_for_loading skips LibTorch's random initialisation: the generator is not advanced,
    // every parameter is a real CPU tensor of the right shape, and a strict load fills it.
    torch::manual_seed(7);
    const at::Tensor expected_draw = torch::randn({4});
    torch::manual_seed(7);
    Net net = papillon::build_for_loading([] { return Net(); });
    QVERIFY(torch::equal(torch::randn({4}), expected_draw));
    for (const auto& p : net->named_parameters()) {
      QVERIFY2(p.value().device().is_cpu(), p.key().c_str());
      QVERIFY2(p.value().requires_grad(), p.key().c_str());
    }
    QCOMPARE(net->conv_in->weight.sizes().vec(), (std::vector<int64_t>{4, 3, 3, 3}));
    const TensorList state = random_state(*net);
    papillon::load_state_dict(*net, state, "net");
    expect_equal(*net, state);
    // The thread's dispatch state is restored: ordinary ops compute again.
    QVERIFY(torch::equal(torch::ones({2}) + 1, torch::full({2}, 2.f)));
    QVERIFY(torch::equal(torch::arange(3).flip(0), torch::tensor({2, 1, 0}, torch::kLong)));
    // A module that computes a parameter out of place is built the ordinary way.
    Computed computed = papillon::build_for_loading([] { return Computed(); });
    QVERIFY(computed->w.device().is_cpu());
    QVERIFY(torch::equal(computed->w, torch::full({3}, 2.f)));
  }

  void lists_every_problem() {
    Net net;
    const TensorList good = random_state(*net);
    const TensorList before = random_state(*net);
    papillon::load_state_dict(*net, before, "net");

    TensorList bad;
    for (const auto& [name, t] : good) {
      if (name == "conv_in.bias" || name == "attentions.0.to_k.weight") continue;  // missing
      if (name == "attentions.0.to_v.weight")
        bad.emplace_back(name, torch::zeros({4, 5}));  // wrong shape
      else
        bad.emplace_back(name, t);
    }
    bad.emplace_back("conv_out.bias", torch::zeros({1}));  // unexpected
    bad.emplace_back("attentions.0.to_out.1.bias", torch::zeros({1}));
    const std::string message = load_error(*net, bad);
    QVERIFY2(contains(message, "unet/weights.safetensors: "), message.c_str());
    QVERIFY2(contains(message, "2 missing keys: conv_in.bias, attentions.0.to_k.weight"),
             message.c_str());
    QVERIFY2(contains(message, "2 unexpected keys: conv_out.bias, attentions.0.to_out.1.bias"),
             message.c_str());
    QVERIFY2(
        contains(message,
                 "1 wrongly shaped keys: attentions.0.to_v.weight (file [4, 5], model [4, 4])"),
        message.c_str());
    // Nothing was copied.
    expect_equal(*net, before);

    // A key given twice (legacy and current name of the same weight).
    TensorList twice = good;
    twice.emplace_back("attentions.0.query.weight", torch::zeros({4, 4}));
    const std::string twice_message = load_error(*net, twice, papillon::map_legacy_attention_key);
    QVERIFY2(contains(twice_message,
                      "given twice: attentions.0.query.weight (as attentions.0.to_q.weight)"),
             twice_message.c_str());
  }

  void truncates_long_lists() {
    Net net(45);  // 45 extra parameters the file lacks
    TensorList state = random_state(*net);
    state.erase(std::remove_if(state.begin(), state.end(),
                               [](const auto& e) { return e.first.rfind("extra_", 0) == 0; }),
                state.end());
    const std::string message = load_error(*net, state);
    QVERIFY2(contains(message, "45 missing keys: extra_0, extra_1"), message.c_str());
    QVERIFY2(contains(message, "extra_19 and 25 more"), message.c_str());
    QVERIFY2(!contains(message, "extra_20"), message.c_str());
  }

  void maps_legacy_attention_names() {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"mid_block.attentions.0.query.weight", "mid_block.attentions.0.to_q.weight"},
        {"mid_block.attentions.0.query.bias", "mid_block.attentions.0.to_q.bias"},
        {"down_blocks.1.attentions.1.key.weight", "down_blocks.1.attentions.1.to_k.weight"},
        {"encoder.mid_block.attentions.0.value.bias", "encoder.mid_block.attentions.0.to_v.bias"},
        {"up_blocks.2.attentions.12.proj_attn.weight", "up_blocks.2.attentions.12.to_out.0.weight"},
        {"decoder.mid_block.attentions.0.proj_attn.bias",
         "decoder.mid_block.attentions.0.to_out.0.bias"},
        {"attentions.0.key.weight", "attentions.0.to_k.weight"},
        // Unchanged: current names, other models' names, other parents, other parameter names.
        {"mid_block.attentions.0.to_q.weight", "mid_block.attentions.0.to_q.weight"},
        {"mid_block.attentions.0.group_norm.weight", "mid_block.attentions.0.group_norm.weight"},
        {"down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight",
         "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight"},
        {"text_model.encoder.layers.0.self_attn.k_proj.weight",
         "text_model.encoder.layers.0.self_attn.k_proj.weight"},
        {"bert.encoder.layer.0.attention.self.query.weight",
         "bert.encoder.layer.0.attention.self.query.weight"},
        {"mid_block.attentions.x.query.weight", "mid_block.attentions.x.query.weight"},
        {"mid_block.attentions.0.query.scale", "mid_block.attentions.0.query.scale"},
        {"query.weight", "query.weight"},
        {"0.query.weight", "0.query.weight"},
        {"", ""},
        {".", "."},
    };
    for (const auto& [from, to] : cases)
      QCOMPARE(papillon::map_legacy_attention_key(from), to);

    // A 2022 checkpoint loads into today's module through the mapping.
    Net net;
    TensorList legacy = random_state(*net);
    TensorList current = legacy;
    for (auto& [name, t] : legacy) {
      for (const auto& [now, then] : std::vector<std::pair<std::string, std::string>>{
               {"to_q", "query"}, {"to_k", "key"}, {"to_v", "value"}, {"to_out.0", "proj_attn"}}) {
        const size_t at = name.find("." + now + ".");
        if (at != std::string::npos) name.replace(at + 1, now.size(), then);
      }
    }
    QCOMPARE(legacy[5].first, std::string("attentions.0.query.weight"));
    QVERIFY(!load_error(*net, legacy).empty());  // strict without the mapping
    papillon::load_state_dict(*net, legacy, "vae", papillon::map_legacy_attention_key);
    expect_equal(*net, current);
  }

  void keeps_names_the_module_has() {
    // A module that really has a child named "value": the rename is not applied to it.
    struct HolderImpl : torch::nn::Module {
      HolderImpl() {
        auto inner = std::make_shared<torch::nn::Module>();
        inner->register_module("value", torch::nn::Linear(2, 2));
        register_module("attentions", torch::nn::ModuleList(inner));
      }
    };
    HolderImpl holder;
    TensorList state = random_state(holder);
    QCOMPARE(state[0].first, std::string("attentions.0.value.weight"));
    papillon::load_state_dict(holder, state, "holder", papillon::map_legacy_attention_key);
    expect_equal(holder, state);
  }
};

QTEST_APPLESS_MAIN(TestStateDict)
#include "tst_state_dict.moc"
