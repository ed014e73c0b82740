// UNet2DConditionModel against diffusers 0.27.2 golden data (models/unet_cond_sd_tiny and
// models/unet_cond_sd_tiny_fp16weights, weights in pipelines/sd_tiny/unet).
// Tolerance: atol 1e-4, rtol 1e-4 for outputs and hooked activations (fixtures/README.md, "single
// model forward"); the reference's own float32-vs-float64 error is ~1e-6.
#include <torch/torch.h>
#include <QtTest/QtTest>

#include <chrono>
#include <map>
#include <string>

#include "core/io/safetensors.h"
#include "core/models/activations.h"
#include "core/models/attention.h"
#include "core/models/unet_2d_condition.h"
#include "core/util/error.h"
#include "tests/common/fixtures.h"

using namespace papillon;

namespace {

constexpr double kAtol = 1e-4;
constexpr double kRtol = 1e-4;
const char* const kWeightsDir = "pipelines/sd_tiny/unet";

std::map<std::string, at::Tensor> load_io(const std::string& model) {
  std::map<std::string, at::Tensor> io;
  for (auto& [name, tensor] :
       load_safetensors(test::fixture_path("models/" + model + "/io.safetensors"))) {
    io[name] = tensor;
  }
  return io;
}

// Runs every call of models/<model>/meta.json; compares the output and the act.* tensors of the
// calls that list them. Returns the largest difference seen.
double check_calls(UNet2DConditionModel& model, const std::string& model_name) {
  const Json meta = test::fixture_json("models/" + model_name + "/meta.json");
  auto io = load_io(model_name);
  double worst = 0;
  int compared_activations = 0;
  for (const auto& call : meta.at("calls")) {
    const std::string name = call.at("name").get<std::string>();
    ActivationRecorder recorder;
    model->set_activation_recorder(&recorder);
    const at::Tensor out = model->forward(io.at(name + ".in.sample"), io.at(name + ".in.timestep"),
                                          io.at(name + ".in.encoder_hidden_states"));
    model->set_activation_recorder(nullptr);

    const auto c = test::compare(out, io.at(name + ".out.sample"), kAtol, kRtol);
    worst = std::max(worst, c.max_abs_diff);
    if (!c.ok) throw Error(model_name + " " + name + " sample: " + c.message);
    for (const auto& [act, shape] : call.at("activations").items()) {
      (void)shape;
      if (!recorder.contains(act)) {
        throw Error(model_name + ": activation " + act + " not recorded");
      }
      const auto a = test::compare(recorder.get(act), io.at(name + ".act." + act), kAtol, kRtol);
      worst = std::max(worst, a.max_abs_diff);
      if (!a.ok) throw Error(model_name + " " + name + " act." + act + ": " + a.message);
      ++compared_activations;
    }
  }
  qInfo("%s: %d calls, %d activations compared, max |diff| %.3g", model_name.c_str(),
        static_cast<int>(meta.at("calls").size()), compared_activations, worst);
  return worst;
}

Json tiny_config() {
  return read_json_file(test::fixture_path(std::string(kWeightsDir) + "/config.json"));
}

UNet2DConditionModel model_from_json(const Json& json) {
  UNet2DConditionModel model(UNet2DConditionModelConfig::from_json(json, "unet/config.json"));
  model->eval();
  return model;
}

std::string config_error(const Json& json) {
  try {
    UNet2DConditionModelConfig::from_json(json, "unet/config.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

class TestUNet2DCondition : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() { at::set_num_threads(1); }

  void fp32_matches_fixture() {
    torch::NoGradGuard no_grad;
    UNet2DConditionModel model = load_unet_2d_condition_model(test::fixture_path(kWeightsDir));
    QCOMPARE(model->num_upsamplers(), int64_t{1});
    check_calls(model, "unet_cond_sd_tiny");
  }

  void python_number_timestep_matches_tensor() {
    // diffusers turns a python float into a float64 [1] tensor: 500.25 is exact in float32, so
    // call1 (0-dim float32 500.25) must be reproduced.
    torch::NoGradGuard no_grad;
    UNet2DConditionModel model = load_unet_2d_condition_model(test::fixture_path(kWeightsDir));
    auto io = load_io("unet_cond_sd_tiny");
    QCOMPARE(io.at("call1.in.timestep").dim(), int64_t{0});
    const double t = io.at("call1.in.timestep").item<double>();
    const at::Tensor out =
        model->forward(io.at("call1.in.sample"), t, io.at("call1.in.encoder_hidden_states"));
    PAPILLON_EXPECT_CLOSE(out, io.at("call1.out.sample"), kAtol, kRtol, "call1 via double");
  }

  void fp16_variant_into_fp32_model_matches_fixture() {
    torch::NoGradGuard no_grad;
    UNet2DConditionModel model =
        load_unet_2d_condition_model(test::fixture_path(kWeightsDir), "fp16", at::kFloat);
    for (const auto& p : model->parameters())
      QCOMPARE(p.scalar_type(), at::kFloat);
    check_calls(model, "unet_cond_sd_tiny_fp16weights");
  }

  void parameter_names_equal_keys_json() {
    UNet2DConditionModel model = model_from_json(tiny_config());
    for (const char* name : {"unet_cond_sd_tiny", "unet_cond_sd_tiny_fp16weights"}) {
      const Json keys = test::fixture_json(std::string("models/") + name + "/keys.json");
      const auto params = model->named_parameters(/*recurse=*/true);
      QCOMPARE(params.size(), keys.size());
      size_t i = 0;
      for (const auto& item : params) {
        const Json& key = keys.at(i++);
        QCOMPARE(QString::fromStdString(item.key()),
                 QString::fromStdString(key.at("name").get<std::string>()));
        QCOMPARE(item.value().sizes().vec(), key.at("shape").get<std::vector<int64_t>>());
      }
    }
  }

  void config_errors_name_the_key() {
    const Json base = tiny_config();
    QVERIFY(config_error(base).empty());

    const auto expect = [&](const Json& json, const std::string& key, const std::string& detail) {
      const std::string error = config_error(json);
      QVERIFY2(error.find("unet/config.json: " + key) != std::string::npos &&
                   error.find(detail) != std::string::npos,
               ("expected an error naming " + key + ", got: " + error).c_str());
    };

    Json j = base;
    j["layers_per_block"] = "two";
    expect(j, "layers_per_block", "");
    j = base;
    j["layers_per_block"] = {2, 2, 2};
    expect(j, "layers_per_block", "has 3");
    j = base;
    j["block_out_channels"] = {32, 64, 64};
    expect(j, "block_out_channels", "has 3");
    j = base;
    j["attention_head_dim"] = {8};
    QVERIFY(config_error(j).empty());  // one entry applies to every block
    j["attention_head_dim"] = {8, 8, 8};
    expect(j, "attention_head_dim", "has 3");
    j = base;
    j["attention_head_dim"] = 5;  // heads must divide 32 and 64
    expect(j, "attention_head_dim", "5");
    j = base;
    j["cross_attention_dim"] = {32, 32, 32};
    expect(j, "cross_attention_dim", "has 3");
    j = base;
    j["cross_attention_dim"] = nullptr;
    expect(j, "cross_attention_dim", "null");
    j = base;
    j["transformer_layers_per_block"] = Json::array({Json::array({1, 2}), Json::array({1, 2})});
    expect(j, "transformer_layers_per_block", "nested");
    j = base;
    j["only_cross_attention"] = {true, false, false};
    expect(j, "only_cross_attention", "has 3");
    j = base;
    j["addition_embed_type"] = "text_time";
    expect(j, "addition_embed_type", "not supported");
    j = base;
    j["dual_cross_attention"] = true;
    expect(j, "dual_cross_attention", "not supported");
    j = base;
    j["num_attention_heads"] = 8;
    expect(j, "num_attention_heads", "attention_head_dim");
    j = base;
    j["down_block_types"][1] = "SimpleCrossAttnDownBlock2D";
    expect(j, "down_block_types", "SimpleCrossAttnDownBlock2D");
    j = base;
    j["mid_block_type"] = "UNetMidBlock2DSimpleCrossAttn";
    expect(j, "mid_block_type", "UNetMidBlock2DSimpleCrossAttn");
    j = base;
    j["class_embed_type"] = "projection";
    expect(j, "projection_class_embeddings_input_dim", "projection");
    j = base;
    j["time_embedding_type"] = "fourier";
    expect(j, "time_embedding_type", "fourier");
    j = base;
    j["conv_in_kernel"] = 4;
    expect(j, "conv_in_kernel", "odd");
    j = base;
    j["act_fn"] = "swoosh";
    expect(j, "act_fn", "swoosh");
  }

  void config_options_build_the_diffusers_layout() {
    // Per-block lists, linear projections, no mid block, 2 transformer layers: the structure must
    // follow diffusers' __init__ (checked through the parameter names/shapes it implies).
    Json j = tiny_config();
    j["use_linear_projection"] = true;
    j["attention_head_dim"] = {4, 8};
    j["transformer_layers_per_block"] = {2, 1};
    j["layers_per_block"] = {1, 2};
    j["cross_attention_dim"] = {24, 32};
    j["mid_block_type"] = nullptr;
    j["time_cond_proj_dim"] = 16;
    UNet2DConditionModel model = model_from_json(j);
    const auto params = model->named_parameters();
    QVERIFY(params.find("mid_block.resnets.0.conv1.weight") == nullptr);
    QCOMPARE(params["down_blocks.0.attentions.0.proj_in.weight"].sizes().vec(),
             (std::vector<int64_t>{32, 32}));
    QVERIFY(params.find("down_blocks.0.attentions.0.transformer_blocks.1.attn2.to_k.weight") !=
            nullptr);
    QCOMPARE(
        params["down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight"].sizes().vec(),
        (std::vector<int64_t>{32, 24}));
    QVERIFY(params.find("down_blocks.0.resnets.1.conv1.weight") == nullptr);  // 1 layer
    // up_blocks.1 mirrors down block 0: layers 1 + 1 resnets, 2 transformer layers, dim 24.
    QVERIFY(params.find("up_blocks.1.resnets.1.conv1.weight") != nullptr);
    QVERIFY(params.find("up_blocks.1.resnets.2.conv1.weight") == nullptr);
    QCOMPARE(
        params["up_blocks.1.attentions.1.transformer_blocks.1.attn2.to_v.weight"].sizes().vec(),
        (std::vector<int64_t>{32, 24}));
    QCOMPARE(params["time_embedding.cond_proj.weight"].sizes().vec(),
             (std::vector<int64_t>{32, 16}));
  }

  void attention_slicing_gives_identical_results() {
    torch::NoGradGuard no_grad;
    UNet2DConditionModel model = load_unet_2d_condition_model(test::fixture_path(kWeightsDir));
    auto io = load_io("unet_cond_sd_tiny");
    const auto run = [&]() {
      return model->forward(io.at("call0.in.sample"), io.at("call0.in.timestep"),
                            io.at("call0.in.encoder_hidden_states"));
    };
    const at::Tensor whole = run();
    // One batch*head slice per block: self-attention scores are 64x64 floats = 16 KiB each.
    set_attention_slice_bytes(*model, 64 * 64 * 4);
    const at::Tensor sliced = run();
    set_attention_slice_bytes(*model, kDefaultAttentionSliceBytes);
    QVERIFY2(at::equal(whole, sliced),
             ("max |diff| " + std::to_string((whole - sliced).abs().max().item<double>())).c_str());
    PAPILLON_EXPECT_CLOSE(sliced, io.at("call0.out.sample"), kAtol, kRtol, "sliced call0");
  }

  // GroupNorm / LayerNorm: fp32 inputs take the module's own forward (bit for bit); bf16 inputs on
  // the CPU are normalised in fp32 and rounded once, so they land within bf16's rounding of the
  // fp32 result (LibTorch 1.13's own bf16 kernels also round the statistics).
  void norms_in_reduced_precision_run_in_fp32() {
    torch::manual_seed(3);
    torch::nn::GroupNorm gn(torch::nn::GroupNormOptions(8, 64).eps(1e-5));
    torch::nn::LayerNorm ln(torch::nn::LayerNormOptions({64}).eps(1e-5));
    {
      torch::NoGradGuard no_grad;
      gn->weight.uniform_(0.5, 1.5);
      gn->bias.uniform_(-0.5, 0.5);
      ln->weight.uniform_(0.5, 1.5);
      ln->bias.uniform_(-0.5, 0.5);
    }
    c10::InferenceMode inference;
    const at::Tensor x = torch::randn({2, 64, 16, 16}) * 3 + 5;  // a mean far from 0
    const at::Tensor tokens = torch::randn({2, 256, 64}) * 3 + 5;
    QVERIFY(at::equal(norm_forward(*gn, x), gn->forward(x)));
    QVERIFY(at::equal(norm_forward(*ln, tokens), ln->forward(tokens)));

    const at::Tensor gn_half = norm_forward(*gn, x.to(at::kBFloat16));
    const at::Tensor ln_half = norm_forward(*ln, tokens.to(at::kBFloat16));
    QCOMPARE(gn_half.scalar_type(), at::kBFloat16);
    QCOMPARE(ln_half.scalar_type(), at::kBFloat16);
    // Reference: the bf16 input normalised in fp32, rounded to bf16 once.
    QVERIFY(at::equal(gn_half, gn->forward(x.to(at::kBFloat16).to(at::kFloat)).to(at::kBFloat16)));
    QVERIFY(
        at::equal(ln_half, ln->forward(tokens.to(at::kBFloat16).to(at::kFloat)).to(at::kBFloat16)));
    // Against fp32 on the fp32 input: the input's and the output's bf16 rounding only.
    PAPILLON_EXPECT_CLOSE(gn_half.to(at::kFloat), gn->forward(x), 0.03, 0.01, "bf16 group_norm");
    PAPILLON_EXPECT_CLOSE(ln_half.to(at::kFloat), ln->forward(tokens), 0.03, 0.01,
                          "bf16 layer_norm");
  }

  void attention_in_place_path_equals_the_diffusers_formula() {
    // Attention computes scores, softmax and probabilities in one (reused) buffer with softmax in
    // place. It must give exactly what diffusers' AttnProcessor computes: baddbmm(empty, q, k^T,
    // beta=0, alpha=scale) -> softmax -> bmm, with an additive mask as baddbmm's input.
    torch::manual_seed(3);
    AttentionOptions o;
    o.query_dim = 64;
    o.heads = 4;
    o.dim_head = 16;
    Attention attention(o);
    const double scale = attention->scale();
    for (const int64_t tokens : {5, 300}) {  // the small-product path and the BLAS path
      const int64_t bh = 8, keys = tokens + 7;
      const at::Tensor q = torch::randn({bh, tokens, 16});
      const at::Tensor k = torch::randn({bh, keys, 16});
      const at::Tensor v = torch::randn({bh, keys, 16});
      const at::Tensor mask = torch::randn({bh, 1, keys});
      for (const bool masked : {false, true}) {
        const at::Tensor scores =
            masked ? at::baddbmm(mask, q, k.transpose(1, 2), 1, scale)
                   : at::baddbmm(at::empty({bh, tokens, keys}), q, k.transpose(1, 2), 0, scale);
        const at::Tensor expected = at::bmm(scores.softmax(-1), v);
        const at::Tensor m = masked ? mask : at::Tensor();
        for (const int64_t slice_items : {int64_t{8}, int64_t{3}, int64_t{1}}) {
          attention->set_max_slice_bytes(slice_items * tokens * keys * 4);
          const at::Tensor plain = attention->attend(q, k, v, m);
          at::Tensor scoped;
          {
            const AttentionScratchScope scope;
            attention->attend(q, k, v, m);  // fills the buffer with old scores first
            scoped = attention->attend(q, k, v, m);
            QVERIFY(attention_scratch_bytes() >=
                    std::min<int64_t>(slice_items, bh) * tokens * keys * 4);
          }
          QCOMPARE(attention_scratch_bytes(), int64_t{0});  // released with the scope
          const std::string what = "tokens " + std::to_string(tokens) + (masked ? " masked" : "") +
                                   ", slices of " + std::to_string(slice_items);
          QVERIFY2(at::equal(plain, expected), what.c_str());
          QVERIFY2(at::equal(scoped, expected), what.c_str());
        }
      }
    }
    attention->set_max_slice_bytes(kDefaultAttentionSliceBytes);
  }

  void latents_not_multiple_of_upsampling_factor() {
    // diffusers forwards the skip tensor's size to the upsamplers when H or W is not a multiple
    // of 2^num_upsamplers: 9x7 latents go 9x7 -> 5x4 -> (upsample to 9x7, not 10x8) -> 9x7.
    torch::NoGradGuard no_grad;
    UNet2DConditionModel model = load_unet_2d_condition_model(test::fixture_path(kWeightsDir));
    auto io = load_io("unet_cond_sd_tiny");
    const at::Tensor base = io.at("call0.in.sample");
    const at::Tensor sample = at::cat({base, base}, 2).narrow(2, 0, 9).narrow(3, 0, 7).contiguous();
    QCOMPARE(sample.sizes().vec(), (std::vector<int64_t>{2, 4, 9, 7}));
    ActivationRecorder recorder;
    model->set_activation_recorder(&recorder);
    const at::Tensor out =
        model->forward(sample, io.at("call0.in.timestep"), io.at("call0.in.encoder_hidden_states"));
    model->set_activation_recorder(nullptr);
    QCOMPARE(out.sizes().vec(), (std::vector<int64_t>{2, 4, 9, 7}));
    QCOMPARE(recorder.get("down_blocks.0").sizes().vec(), (std::vector<int64_t>{2, 32, 5, 4}));
    QCOMPARE(recorder.get("up_blocks.0").sizes().vec(), (std::vector<int64_t>{2, 64, 9, 7}));
    QVERIFY(out.isfinite().all().item<bool>());
  }

  void sd15_config_constructs() {
    // The real SD 1.5 UNet (random weights): construction only, parameter count 859.5 M
    // (configs/README.md).
    torch::NoGradGuard no_grad;
    const auto start = std::chrono::steady_clock::now();
    const std::string path = test::fixture_path("configs/stable-diffusion-v1-5/unet/config.json");
    UNet2DConditionModel model(UNet2DConditionModelConfig::from_json(read_json_file(path), path));
    int64_t count = 0;
    for (const auto& p : model->parameters())
      count += p.numel();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    qInfo("SD 1.5 UNet: %lld parameters, built in %.1f s", static_cast<long long>(count), seconds);
    QCOMPARE(std::llround(static_cast<double>(count) / 1e5), 8595LL);
    QCOMPARE(model->num_upsamplers(), int64_t{3});
  }
};

QTEST_APPLESS_MAIN(TestUNet2DCondition)
#include "tst_unet_2d_condition.moc"
