// UNet2DModel against diffusers 0.27.2 golden data (models/unet2d_ddpm, models/unet2d_classcond).
// Tolerance: atol 1e-4, rtol 1e-4 for outputs and hooked activations (fixtures/README.md, "single
// model forward"); the reference's own float32-vs-float64 error is ~1.7e-6.
#include <torch/torch.h>
#include <QtTest/QtTest>

#include <limits>
#include <map>
#include <string>

#include "core/io/safetensors.h"
#include "core/io/state_dict.h"
#include "core/io/weights.h"
#include "core/models/attention.h"
#include "core/models/conv.h"
#include "core/models/unet_2d.h"
#include "core/util/error.h"
#include "tests/common/fixtures.h"

using namespace papillon;

namespace {

constexpr double kAtol = 1e-4;
constexpr double kRtol = 1e-4;

std::map<std::string, at::Tensor> load_io(const std::string& model) {
  std::map<std::string, at::Tensor> io;
  for (auto& [name, tensor] :
       load_safetensors(test::fixture_path("models/" + model + "/io.safetensors"))) {
    io[name] = tensor;
  }
  return io;
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size())) {
    s.replace(pos, from.size(), to);
  }
  return s;
}

// Runs every call of models/<model>/meta.json; compares outputs, and the act.* tensors of the calls
// that have them. Returns the largest difference seen.
double check_calls(UNet2DModel& model, const std::string& model_name) {
  const Json meta = test::fixture_json("models/" + model_name + "/meta.json");
  auto io = load_io(model_name);
  double worst = 0;
  int compared_activations = 0;
  for (const auto& call : meta.at("calls")) {
    const std::string name = call.at("name").get<std::string>();
    const at::Tensor sample = io.at(name + ".in.sample");
    at::Tensor class_labels;
    if (io.count(name + ".in.class_labels")) class_labels = io.at(name + ".in.class_labels");

    ActivationRecorder recorder;
    model->set_activation_recorder(&recorder);
    at::Tensor out;
    const Json& timestep = call.at("inputs").at("timestep");
    if (timestep.is_string()) {  // a python int
      out = model->forward(sample, std::stoll(timestep.get<std::string>()), class_labels);
    } else {
      out = model->forward(sample, io.at(name + ".in.timestep"), class_labels);
    }
    model->set_activation_recorder(nullptr);

    const auto c = test::compare(out, io.at(name + ".out.sample"), kAtol, kRtol);
    worst = std::max(worst, c.max_abs_diff);
    if (!c.ok) throw Error(model_name + " " + name + " sample: " + c.message);
    for (const auto& [act, shape] : call.at("activations").items()) {
      (void)shape;
      if (!recorder.contains(act))
        throw Error(model_name + ": activation " + act + " not recorded");
      const auto a = test::compare(recorder.get(act), io.at(name + ".act." + act), kAtol, kRtol);
      worst = std::max(worst, a.max_abs_diff);
      if (!a.ok) throw Error(model_name + " " + name + " act." + act + ": " + a.message);
      ++compared_activations;
    }
  }
  qInfo("%s: %d activations compared, max |diff| %.3g", model_name.c_str(), compared_activations,
        worst);
  return worst;
}

UNet2DModel model_from_dir(const std::string& dir) {
  const std::string config_path = dir + "/config.json";
  UNet2DModel model(UNet2DModelConfig::from_json(read_json_file(config_path), config_path));
  model->eval();
  return model;
}

std::string config_error(const Json& json) {
  try {
    UNet2DModelConfig::from_json(json, "unet/config.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

class TestUNet2D : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() { at::set_num_threads(1); }

  // Few tokens and a small head (a 2x2 bottom level): LibTorch 1.13 computes such score blocks
  // with a kernel that reads diffusers' uninitialised baddbmm input. Poison the allocator with NaN
  // blocks of the score size first: the scores must still be the plain scaled products.
  void small_attention_blocks_never_read_uninitialised_memory() {
    torch::manual_seed(3);
    AttentionOptions o;
    o.query_dim = 16;
    o.heads = 2;
    o.dim_head = 8;
    o.norm_num_groups = 4;
    o.bias = true;
    Attention attention(o);
    torch::NoGradGuard no_grad;
    for (auto& p : attention->parameters())
      p.normal_(0.0, 0.3);
    const at::Tensor x = torch::randn({1, 16, 2, 2});
    for (int round = 0; round < 20; ++round) {
      {
        std::vector<at::Tensor> poison;
        for (int i = 0; i < 64; ++i)
          poison.push_back(torch::full({2, 4, 4}, std::numeric_limits<float>::quiet_NaN()));
      }
      const at::Tensor y = attention->forward(x);
      QVERIFY(torch::isfinite(y).all().item<bool>());
    }
  }

  void ddpm_matches_fixture() {
    torch::NoGradGuard no_grad;
    UNet2DModel model = load_unet_2d_model(test::fixture_path("pipelines/ddpm_tiny/unet"));
    check_calls(model, "unet2d_ddpm");
  }

  void classcond_safetensors_matches_fixture() {
    torch::NoGradGuard no_grad;
    UNet2DModel model = load_unet_2d_model(test::fixture_path("models/unet2d_classcond/weights"));
    check_calls(model, "unet2d_classcond");
  }

  void classcond_bin_matches_fixture() {
    torch::NoGradGuard no_grad;
    const std::string dir = test::fixture_path("models/unet2d_classcond/weights");
    UNet2DModel model = model_from_dir(dir);
    const std::string bin = dir + "/diffusion_pytorch_model.bin";
    load_state_dict(*model, load_weights_file(bin), bin, map_legacy_attention_key);
    check_calls(model, "unet2d_classcond");
  }

  void parameter_names_equal_keys_json() {
    const std::pair<const char*, const char*> cases[] = {
        {"unet2d_ddpm", "pipelines/ddpm_tiny/unet"},
        {"unet2d_classcond", "models/unet2d_classcond/weights"}};
    for (const auto& [name, dir] : cases) {
      UNet2DModel model = model_from_dir(test::fixture_path(dir));
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
    const Json base = read_json_file(test::fixture_path("pipelines/ddpm_tiny/unet/config.json"));
    QVERIFY(config_error(base).empty());

    Json wrong_type = base;
    wrong_type["layers_per_block"] = "two";
    QVERIFY2(
        config_error(wrong_type).find("unet/config.json: layers_per_block") != std::string::npos,
        config_error(wrong_type).c_str());

    Json wrong_list = base;
    wrong_list["block_out_channels"] = {32, 64};
    const std::string list_error = config_error(wrong_list);
    QVERIFY2(list_error.find("block_out_channels") != std::string::npos &&
                 list_error.find("has 2") != std::string::npos,
             list_error.c_str());

    Json wrong_up = base;
    wrong_up["up_block_types"] = {"UpBlock2D", "UpBlock2D"};
    QVERIFY(config_error(wrong_up).find("up_block_types") != std::string::npos);

    Json unknown_block = base;
    unknown_block["down_block_types"][1] = "NoSuchBlock2D";
    const std::string block_error = config_error(unknown_block);
    QVERIFY2(block_error.find("down_block_types") != std::string::npos &&
                 block_error.find("NoSuchBlock2D") != std::string::npos,
             block_error.c_str());

    Json bad_embed = base;
    bad_embed["class_embed_type"] = "projection";
    QVERIFY(config_error(bad_embed).find("class_embed_type") != std::string::npos);

    Json bad_groups = base;
    bad_groups["norm_num_groups"] = 24;
    QVERIFY(config_error(bad_groups).find("norm_num_groups") != std::string::npos);
  }

  void legacy_attention_keys_load_identically() {
    torch::NoGradGuard no_grad;
    const std::string dir = test::fixture_path("pipelines/ddpm_tiny/unet");
    UNet2DModel reference = load_unet_2d_model(dir);

    TensorList legacy;
    int renamed = 0;
    for (auto& [name, tensor] : load_safetensors(dir + "/diffusion_pytorch_model.safetensors")) {
      std::string old = replace_all(name, ".to_q.", ".query.");
      old = replace_all(old, ".to_k.", ".key.");
      old = replace_all(old, ".to_v.", ".value.");
      old = replace_all(old, ".to_out.0.", ".proj_attn.");
      renamed += old != name;
      legacy.emplace_back(old, tensor);
    }
    QVERIFY(renamed > 0);
    UNet2DModel model = model_from_dir(dir);
    load_state_dict(*model, legacy, "legacy in-memory state dict", map_legacy_attention_key);

    const auto expected = reference->named_parameters();
    for (const auto& item : model->named_parameters()) {
      QVERIFY2(torch::equal(item.value(), expected[item.key()]), item.key().c_str());
    }
    const auto io = load_io("unet2d_ddpm");
    const at::Tensor sample = io.at("call0.in.sample");
    const at::Tensor timestep = io.at("call0.in.timestep");
    QVERIFY(torch::equal(model->forward(sample, timestep), reference->forward(sample, timestep)));
  }

  void sliced_attention_equals_unsliced() {
    torch::NoGradGuard no_grad;
    UNet2DModel model = load_unet_2d_model(test::fixture_path("pipelines/ddpm_tiny/unet"));
    const auto io = load_io("unet2d_ddpm");
    const at::Tensor sample = io.at("call0.in.sample");
    const at::Tensor timestep = io.at("call0.in.timestep");
    const at::Tensor whole = model->forward(sample, timestep);
    // One 256-token score row block is 256 KiB: 300 KiB forces one batch*head slice at a time.
    set_attention_slice_bytes(*model, 300 << 10);
    const at::Tensor sliced = model->forward(sample, timestep);
    PAPILLON_EXPECT_CLOSE(sliced, whole, 0.0, 0.0, "sliced vs unsliced attention");
    PAPILLON_EXPECT_CLOSE(sliced, io.at("call0.out.sample"), kAtol, kRtol, "sliced vs fixture");
  }

  void conv_prepacking_is_bit_identical() {
    // Pre-packed oneDNN weights give exactly what LibTorch's own convolution gives, for the layer
    // shapes the UNets use (3x3 pad 1, stride-2 downsampling, 1x1 shortcuts), small and large
    // inputs, batch 1 and 2, one and two threads (LibTorch picks another kernel for some of them:
    // pre-packing must then stay out of the way).
    torch::manual_seed(5);
    torch::NoGradGuard no_grad;
    struct Case {
      int64_t in, out, kernel, stride, padding, batch, size;
    };
    const std::vector<Case> cases = {{8, 16, 3, 1, 1, 1, 4},   {8, 16, 3, 1, 1, 2, 4},
                                     {32, 32, 3, 1, 1, 2, 16}, {32, 32, 3, 2, 1, 1, 8},
                                     {16, 32, 1, 1, 0, 1, 8},  {16, 32, 1, 1, 0, 2, 32},
                                     {3, 8, 3, 1, 1, 8, 32}};
    for (const int threads : {1, 2}) {
      at::set_num_threads(threads);
      for (const Case& c : cases) {
        Conv2d conv(
            torch::nn::Conv2dOptions(c.in, c.out, c.kernel).stride(c.stride).padding(c.padding));
        const at::Tensor x = torch::randn({c.batch, c.in, c.size, c.size});
        const at::Tensor plain = conv->forward(x);
        conv->set_prepacking(true);
        const at::Tensor packed = conv->forward(x);
        const at::Tensor again = conv->forward(x);  // the packed copy reused
        const std::string what = std::to_string(threads) + " threads, " + std::to_string(c.in) +
                                 "->" + std::to_string(c.out) + " k" + std::to_string(c.kernel) +
                                 " s" + std::to_string(c.stride) + " batch " +
                                 std::to_string(c.batch) + " " + std::to_string(c.size) + "^2";
        QVERIFY2(at::equal(plain, packed), what.c_str());
        QVERIFY2(at::equal(plain, again), what.c_str());
        // New weights written in place: re-packed.
        conv->weight.mul_(2);
        const at::Tensor expected =
            at::conv2d(x, conv->weight, conv->bias, {c.stride, c.stride}, {c.padding, c.padding});
        QVERIFY2(at::equal(conv->forward(x), expected), what.c_str());
      }
    }
    at::set_num_threads(1);
    // Training (gradients needed) takes LibTorch's own path, and gradients flow.
    {
      torch::AutoGradMode grad(true);
      Conv2d conv(torch::nn::Conv2dOptions(4, 4, 3).padding(1));
      conv->set_prepacking(true);
      const at::Tensor y = conv->forward(torch::randn({2, 4, 8, 8}));
      y.sum().backward();
      QVERIFY(conv->weight.grad().defined());
    }
    // A whole loaded model (load_unet_2d_model turns pre-packing on) against the same model
    // without.
    UNet2DModel model = load_unet_2d_model(test::fixture_path("pipelines/ddpm_tiny/unet"));
    const auto io = load_io("unet2d_ddpm");
    const at::Tensor sample = io.at("call0.in.sample");
    const at::Tensor timestep = io.at("call0.in.timestep");
    at::set_num_threads(2);
    const at::Tensor packed = model->forward(sample, timestep);
    set_conv_prepacking(*model, false);
    const at::Tensor plain = model->forward(sample, timestep);
    at::set_num_threads(1);
    QVERIFY(at::equal(packed, plain));
  }

  void scalar_timestep_broadcasts() {
    torch::NoGradGuard no_grad;
    UNet2DModel model = load_unet_2d_model(test::fixture_path("pipelines/ddpm_tiny/unet"));
    const auto io = load_io("unet2d_ddpm");
    const at::Tensor sample = io.at("call1.in.sample");
    // call1 was made with the python int 500: a 0-dim int64 tensor must give the same result.
    const at::Tensor out = model->forward(sample, at::scalar_tensor(500, at::kLong));
    PAPILLON_EXPECT_CLOSE(out, io.at("call1.out.sample"), kAtol, kRtol, "0-dim timestep");
  }

  void class_labels_required() {
    torch::NoGradGuard no_grad;
    UNet2DModel model = model_from_dir(test::fixture_path("models/unet2d_classcond/weights"));
    const at::Tensor sample = at::zeros({1, 3, 16, 16});
    QVERIFY_EXCEPTION_THROWN(model->forward(sample, int64_t{10}), Error);
  }
};

QTEST_APPLESS_MAIN(TestUNet2D)
#include "tst_unet_2d.moc"
