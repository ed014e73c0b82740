// T5EncoderModel against transformers 4.38 golden data (t5_pixart/models/t5_encoder): the tiny
// T5 v1.1 text encoder of the PixArt fixture folder, loaded from its three safetensors shards
// through model.safetensors.index.json. Tolerance: atol 1e-4 (t5_pixart/README.md, "T5
// last_hidden_state atol 1e-4"; the reference's own float32-vs-float64 error is 1.6e-6), applied
// to every hidden state and the block-0 attention probabilities too. The relative position buckets
// are integers and the position bias a table lookup: those are compared exactly.
#include <torch/torch.h>
#include <QtTest/QtTest>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <string>

#include "core/io/safetensors.h"
#include "core/io/weights.h"
#include "core/models/t5_encoder_model.h"
#include "core/util/error.h"
#include "tests/common/fixtures.h"

using namespace papillon;
using test::error_of;
namespace fs = std::filesystem;

namespace {

constexpr double kAtol = 1e-4;
const char* const kWeights = "t5_pixart/pipelines/pixart_tiny/text_encoder";

std::map<std::string, at::Tensor> load_io() {
  std::map<std::string, at::Tensor> io;
  for (auto& [name, tensor] :
       load_safetensors(test::fixture_path("t5_pixart/models/t5_encoder/io.safetensors")))
    io[name] = tensor;
  return io;
}

// A copy of the sharded text_encoder folder to break.
std::string copy_encoder(const std::string& tag) {
  const std::string dir = test::temp_dir(tag);
  for (const auto& entry : fs::directory_iterator(test::fixture_path(kWeights)))
    fs::copy_file(entry.path(), fs::path(dir) / entry.path().filename());
  return dir;
}

}  // namespace

class TestT5EncoderModel : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() { at::set_num_threads(1); }

  void loads_from_shards_and_matches_fixture() {
    torch::NoGradGuard no_grad;
    const std::string dir = test::fixture_path(kWeights);
    QVERIFY(!fs::exists(dir + "/model.safetensors"));
    QCOMPARE(find_weights_file(dir, {"model"}), dir + "/model.safetensors.index.json");
    T5EncoderModel model = load_t5_encoder_model(dir);
    QCOMPARE(model->config().dense_act_fn, std::string("gelu_new"));
    QVERIFY(model->config().is_gated_act);
    const auto io = load_io();
    const T5EncoderOutput out =
        model->forward(io.at("in.input_ids"), io.at("in.attention_mask"), true, true);
    PAPILLON_EXPECT_CLOSE(out.last_hidden_state, io.at("out.last_hidden_state"), kAtol, 0.0,
                          "last_hidden_state");
    QCOMPARE(out.hidden_states.size(), size_t{3});
    for (size_t i = 0; i < out.hidden_states.size(); ++i) {
      const std::string key = "out.hidden_states." + std::to_string(i);
      PAPILLON_EXPECT_CLOSE(out.hidden_states[i], io.at(key), kAtol, 0.0, key);
    }
    QCOMPARE(out.attentions.size(), size_t{2});
    PAPILLON_EXPECT_CLOSE(out.attentions[0].slice(0, 0, 2), io.at("out.attentions.0"), kAtol, 0.0,
                          "attentions.0");
    // Padded keys get no weight (finfo.min folded into the bias).
    const at::Tensor mask0 = io.at("in.attention_mask")[0];
    QCOMPARE(out.attentions[0][0]
                 .index({at::indexing::Slice(), at::indexing::Slice(), mask0 == 0})
                 .abs()
                 .max()
                 .item<float>(),
             0.0f);

    // The unpadded first prompt, no mask.
    const T5EncoderOutput one = model->forward(io.at("in1.input_ids"));
    PAPILLON_EXPECT_CLOSE(one.last_hidden_state, io.at("out1.last_hidden_state"), kAtol, 0.0,
                          "out1.last_hidden_state");
  }

  void relative_position_buckets_and_bias_are_exact() {
    torch::NoGradGuard no_grad;
    T5EncoderModel model = load_t5_encoder_model(test::fixture_path(kWeights));
    const auto io = load_io();
    const at::Tensor positions = at::arange(120, at::kLong);
    const at::Tensor relative = positions.unsqueeze(0) - positions.unsqueeze(1);  // j - i
    const at::Tensor buckets = T5AttentionImpl::relative_position_bucket(relative, true, 32, 128);
    QVERIFY(torch::equal(buckets, io.at("relative_position_bucket")));
    QVERIFY(torch::equal(model->block(0)->self_attention()->compute_bias(120, 120),
                         io.at("position_bias")));
    QVERIFY(model->block(0)->self_attention()->has_relative_attention_bias());
    QVERIFY(!model->block(1)->self_attention()->has_relative_attention_bias());
  }

  void parameter_names_equal_keys_json() {
    const std::string config_path = test::fixture_path(kWeights) + "/config.json";
    T5EncoderModel model(T5Config::from_json(read_json_file(config_path), config_path));
    const Json keys = test::fixture_json("t5_pixart/models/t5_encoder/keys.json");
    const auto params = model->named_parameters(/*recurse=*/true);
    QCOMPARE(params.size(), keys.size());
    size_t i = 0;
    for (const auto& item : params) {
      const Json& key = keys.at(i++);
      QCOMPARE(QString::fromStdString(item.key()),
               QString::fromStdString(key.at("name").get<std::string>()));
      QCOMPARE(item.value().sizes().vec(), key.at("shape").get<std::vector<int64_t>>());
    }
    // shared.weight and encoder.embed_tokens.weight are one tensor.
    QVERIFY(params["shared.weight"].is_same(params["encoder.embed_tokens.weight"]));
  }

  void bf16_on_the_cpu_stays_near_fp32() {
    // "half" on the CPU = bf16 weights (no fp32 copy), norms and softmax in fp32. The fixture's
    // out.last_hidden_state_bf16weights (transformers' model.to(bfloat16)) is a note, not a bar:
    // max |bf16 - fp32| 0.045, mean 0.0064. The bar here: within 2x of both against fp32, and no
    // further from transformers' own bf16 output than from fp32.
    torch::NoGradGuard no_grad;
    T5EncoderModel model = load_t5_encoder_model(test::fixture_path(kWeights), at::kBFloat16);
    for (const auto& p : model->parameters())
      QCOMPARE(p.scalar_type(), at::kBFloat16);
    const auto io = load_io();
    const at::Tensor out =
        model->forward(io.at("in.input_ids"), io.at("in.attention_mask")).last_hidden_state;
    QCOMPARE(out.scalar_type(), at::kBFloat16);
    const at::Tensor diff = (out.to(at::kFloat) - io.at("out.last_hidden_state")).abs();
    const at::Tensor diff_bf16 =
        (out.to(at::kFloat) - io.at("out.last_hidden_state_bf16weights")).abs();
    qInfo("bf16 vs fp32: max %.4f mean %.5f; vs transformers bf16: max %.4f mean %.5f",
          diff.max().item<double>(), diff.mean().item<double>(), diff_bf16.max().item<double>(),
          diff_bf16.mean().item<double>());
    QVERIFY(diff.max().item<double>() <= 2 * 0.045);
    QVERIFY(diff.mean().item<double>() <= 2 * 0.0064);
    QVERIFY(diff_bf16.mean().item<double>() <= diff.mean().item<double>());
  }

  void sharded_folder_errors_list_the_problem() {
    // A shard the index names is missing.
    std::string dir = copy_encoder("t5-missing-shard");
    fs::remove(dir + "/model-00002-of-00003.safetensors");
    std::string e = error_of([&] { load_t5_encoder_model(dir); });
    QVERIFY2(e.find("model.safetensors.index.json") != std::string::npos &&
                 e.find("model-00002-of-00003.safetensors") != std::string::npos &&
                 e.find("missing") != std::string::npos,
             e.c_str());

    // A tensor the index maps is not in its shard.
    dir = copy_encoder("t5-missing-key");
    Json index = read_json_file(dir + "/model.safetensors.index.json");
    index["weight_map"]["encoder.block.9.layer.0.layer_norm.weight"] =
        "model-00001-of-00003.safetensors";
    std::ofstream(dir + "/model.safetensors.index.json") << index.dump();
    e = error_of([&] { load_t5_encoder_model(dir); });
    QVERIFY2(e.find("encoder.block.9.layer.0.layer_norm.weight") != std::string::npos, e.c_str());

    // A mis-shaped tensor: the strict loader names it with both shapes.
    dir = copy_encoder("t5-bad-shape");
    Json config = read_json_file(dir + "/config.json");
    config["d_ff"] = 96;
    std::ofstream(dir + "/config.json") << config.dump();
    e = error_of([&] { load_t5_encoder_model(dir); });
    QVERIFY2(e.find("wrongly shaped") != std::string::npos &&
                 e.find("DenseReluDense.wi_0.weight") != std::string::npos &&
                 e.find("[128, 64]") != std::string::npos,
             e.c_str());
  }

  void config_rules() {
    const T5Config d = T5Config::from_json(Json::object(), "config.json");
    QCOMPARE(d.vocab_size, int64_t{32128});
    QCOMPARE(d.dense_act_fn, std::string("relu"));
    QVERIFY(!d.is_gated_act);
    const T5Config g = T5Config::from_json({{"feed_forward_proj", "gated-silu"}}, "config.json");
    QCOMPARE(g.dense_act_fn, std::string("silu"));
    QVERIFY(g.is_gated_act);
    std::string e = error_of([] {
      T5Config::from_json({{"feed_forward_proj", "fancy-gelu"}}, "text_encoder/config.json");
    });
    QVERIFY2(e.find("text_encoder/config.json: feed_forward_proj") != std::string::npos, e.c_str());
    e = error_of([] { T5Config::from_json({{"num_heads", "four"}}, "c.json"); });
    QVERIFY2(e.find("num_heads") != std::string::npos, e.c_str());
    e = error_of([] { T5Config::from_json({{"dense_act_fn", "softsign"}}, "c.json"); });
    QVERIFY2(e.find("softsign") != std::string::npos, e.c_str());
  }

  void bad_input_is_an_error() {
    torch::NoGradGuard no_grad;
    T5EncoderModel model = load_t5_encoder_model(test::fixture_path(kWeights));
    QVERIFY_EXCEPTION_THROWN(model->forward(torch::tensor({3100}, at::kLong)), Error);
    QVERIFY_EXCEPTION_THROWN(model->forward(torch::tensor({-1}, at::kLong)), Error);
    QVERIFY_EXCEPTION_THROWN(
        model->forward(torch::ones({1, 4}, at::kLong), torch::ones({1, 3}, at::kLong)), Error);
    QVERIFY_EXCEPTION_THROWN(model->forward(at::zeros({1, 0}, at::kLong)), Error);
  }
};

QTEST_APPLESS_MAIN(TestT5EncoderModel)
#include "tst_t5_encoder_model.moc"
