// CLIPTextModel against transformers 4.38 golden data: models/clip_text_sd_tiny (SD-1 style,
// quick_gelu, eos_token_id 2 -> argmax pooling; weights
// pipelines/sd_tiny/text_encoder/model.safetensors) and models/clip_text_gelu_bin (gelu,
// eos_token_id 999 -> first-eos pooling, max_position 16; weights only as pytorch_model.bin).
// Tolerance: atol 1e-4, rtol 1e-4 (fixtures/README.md, "single model forward"; the reference's own
// float32-vs-float64 error is <= 1e-6).
#include <torch/torch.h>
#include <QtTest/QtTest>

#include <filesystem>
#include <map>
#include <string>

#include "core/io/safetensors.h"
#include "core/models/clip_text_model.h"
#include "core/util/error.h"
#include "tests/common/fixtures.h"

using namespace papillon;

namespace {

constexpr double kAtol = 1e-4;
constexpr double kRtol = 1e-4;

struct Case {
  const char* fixture;
  const char* weights;
};
const Case kCases[] = {{"clip_text_sd_tiny", "pipelines/sd_tiny/text_encoder"},
                       {"clip_text_gelu_bin", "models/clip_text_gelu_bin/weights"}};

std::map<std::string, at::Tensor> load_io(const std::string& model) {
  std::map<std::string, at::Tensor> io;
  for (auto& [name, tensor] :
       load_safetensors(test::fixture_path("models/" + model + "/io.safetensors"))) {
    io[name] = tensor;
  }
  return io;
}

double expect_close(const at::Tensor& actual, const at::Tensor& expected, const std::string& what) {
  const auto c = test::compare(actual, expected, kAtol, kRtol);
  if (!c.ok) throw Error(what + ": " + c.message);
  return c.max_abs_diff;
}

// Runs every call of meta.json and compares outputs, all hidden states and the act.* tensors.
void check_calls(CLIPTextModel& model, const std::string& fixture) {
  torch::NoGradGuard no_grad;
  const Json meta = test::fixture_json("models/" + fixture + "/meta.json");
  const auto io = load_io(fixture);
  double worst = 0;
  int activations = 0;
  for (const auto& call : meta.at("calls")) {
    const std::string name = call.at("name").get<std::string>();
    const std::string mask_key = name + ".in.attention_mask";
    const at::Tensor mask = io.count(mask_key) ? io.at(mask_key) : at::Tensor();
    ActivationRecorder recorder;
    model->set_activation_recorder(&recorder);
    const CLIPTextModelOutput out = model->forward(io.at(name + ".in.input_ids"), mask, true);
    model->set_activation_recorder(nullptr);

    const std::string what = fixture + " " + name;
    worst =
        std::max(worst, expect_close(out.last_hidden_state, io.at(name + ".out.last_hidden_state"),
                                     what + " last_hidden_state"));
    worst = std::max(worst, expect_close(out.pooler_output, io.at(name + ".out.pooler_output"),
                                         what + " pooler_output"));
    size_t stored = 0;
    while (io.count(name + ".out.hidden_states." + std::to_string(stored)))
      ++stored;
    if (stored != out.hidden_states.size() ||
        stored != static_cast<size_t>(model->config().num_hidden_layers + 1)) {
      throw Error(what + ": " + std::to_string(out.hidden_states.size()) +
                  " hidden states, fixture has " + std::to_string(stored));
    }
    for (size_t i = 0; i < stored; ++i) {
      const std::string key = name + ".out.hidden_states." + std::to_string(i);
      worst = std::max(worst, expect_close(out.hidden_states[i], io.at(key), what + " " + key));
    }
    for (const auto& item : call.at("activations").items()) {
      const std::string& act = item.key();
      if (!recorder.contains(act)) throw Error(what + ": activation " + act + " not recorded");
      worst = std::max(worst, expect_close(recorder.get(act), io.at(name + ".act." + act),
                                           what + " act." + act));
      ++activations;
    }
  }
  if (activations == 0) throw Error(fixture + ": no activations compared");
  qInfo("%s: %d activations compared, max |diff| %.3g", fixture.c_str(), activations, worst);
}

std::string config_error(const Json& json) {
  try {
    CLIPTextConfig::from_json(json, "text_encoder/config.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

class TestCLIPTextModel : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() { at::set_num_threads(1); }

  void sd_tiny_matches_fixture() {
    CLIPTextModel model = load_clip_text_model(test::fixture_path(kCases[0].weights));
    QCOMPARE(model->config().hidden_act, std::string("quick_gelu"));
    check_calls(model, kCases[0].fixture);
  }

  void gelu_bin_matches_fixture() {
    const std::string dir = test::fixture_path(kCases[1].weights);
    QVERIFY(!std::filesystem::exists(dir + "/model.safetensors"));
    CLIPTextModel model = load_clip_text_model(dir);
    QCOMPARE(model->config().eos_token_id, int64_t{999});
    check_calls(model, kCases[1].fixture);
  }

  void parameter_names_equal_keys_json() {
    for (const Case& c : kCases) {
      const std::string config_path = test::fixture_path(c.weights) + "/config.json";
      CLIPTextModel model(CLIPTextConfig::from_json(read_json_file(config_path), config_path));
      const Json keys = test::fixture_json(std::string("models/") + c.fixture + "/keys.json");
      const auto params = model->named_parameters(/*recurse=*/true);
      QCOMPARE(params.size(), keys.size());
      size_t i = 0;
      for (const auto& item : params) {
        const Json& key = keys.at(i++);
        QCOMPARE(QString::fromStdString(item.key()),
                 QString::fromStdString(key.at("name").get<std::string>()));
        QCOMPARE(item.value().sizes().vec(), key.at("shape").get<std::vector<int64_t>>());
      }
      QVERIFY(model->named_buffers().is_empty());
    }
  }

  void stored_position_ids_are_ignored() {
    torch::NoGradGuard no_grad;
    const std::string source = test::fixture_path(kCases[0].weights);
    const std::string dir = test::temp_dir("clip-position-ids");
    std::filesystem::copy_file(source + "/config.json", dir + "/config.json");
    TensorList tensors = load_safetensors(source + "/model.safetensors");
    bool had = false;
    for (const auto& item : tensors)
      had |= item.first == "text_model.embeddings.position_ids";
    QVERIFY(!had);  // transformers 4.38 does not save it ...
    tensors.emplace_back("text_model.embeddings.position_ids",
                         at::arange(77, at::kLong).unsqueeze(0));  // ... older versions did
    save_safetensors(dir + "/model.safetensors", tensors);

    CLIPTextModel model = load_clip_text_model(dir);
    CLIPTextModel reference = load_clip_text_model(source);
    const at::Tensor ids = load_io(kCases[0].fixture).at("call0.in.input_ids");
    QVERIFY(torch::equal(model->forward(ids).last_hidden_state,
                         reference->forward(ids).last_hidden_state));

    // Any other extra key is still an error naming it.
    tensors.emplace_back("text_model.embeddings.extra", at::zeros({1}));
    save_safetensors(dir + "/model.safetensors", tensors);
    try {
      load_clip_text_model(dir);
      QFAIL("an unexpected key loaded");
    } catch (const Error& e) {
      QVERIFY2(std::string(e.what()).find("text_model.embeddings.extra") != std::string::npos,
               e.what());
    }
  }

  void pooling_follows_eos_rule() {
    torch::NoGradGuard no_grad;
    // eos_token_id 999 (not 2): the pooled row is the FIRST position holding 999.
    CLIPTextModel model = load_clip_text_model(test::fixture_path(kCases[1].weights));
    const at::Tensor ids = torch::tensor({998, 5, 999, 7, 999, 0}, at::kLong).unsqueeze(0);
    const CLIPTextModelOutput out = model->forward(ids);
    QVERIFY(torch::equal(out.pooler_output[0], out.last_hidden_state[0][2]));
    // No eos at all: argmax of an all-zero row is position 0.
    const at::Tensor no_eos = torch::tensor({998, 5, 6}, at::kLong).unsqueeze(0);
    const CLIPTextModelOutput out2 = model->forward(no_eos);
    QVERIFY(torch::equal(out2.pooler_output[0], out2.last_hidden_state[0][0]));
  }

  void config_errors_name_the_key() {
    const Json base =
        read_json_file(test::fixture_path(std::string(kCases[0].weights) + "/config.json"));
    QVERIFY(config_error(base).empty());

    Json wrong_type = base;
    wrong_type["num_hidden_layers"] = "two";
    const std::string type_error = config_error(wrong_type);
    QVERIFY2(type_error.find("text_encoder/config.json: num_hidden_layers") != std::string::npos,
             type_error.c_str());

    Json wrong_eps = base;
    wrong_eps["layer_norm_eps"] = "small";
    QVERIFY(config_error(wrong_eps).find("layer_norm_eps") != std::string::npos);

    Json bad_heads = base;
    bad_heads["num_attention_heads"] = 5;
    QVERIFY(config_error(bad_heads).find("num_attention_heads") != std::string::npos);

    Json bad_act = base;
    bad_act["hidden_act"] = "softsign";
    const std::string act_error = config_error(bad_act);
    QVERIFY2(act_error.find("hidden_act") != std::string::npos &&
                 act_error.find("softsign") != std::string::npos,
             act_error.c_str());

    // A full CLIPModel config is read through text_config.
    Json full = {{"model_type", "clip"}, {"text_config", base}, {"vision_config", Json::object()}};
    const CLIPTextConfig nested = CLIPTextConfig::from_json(full, "config.json");
    QCOMPARE(nested.hidden_size, base.at("hidden_size").get<int64_t>());
    QCOMPARE(nested.eos_token_id, int64_t{2});
  }

  void too_long_input_is_an_error() {
    torch::NoGradGuard no_grad;
    CLIPTextModel model = load_clip_text_model(test::fixture_path(kCases[1].weights));
    const at::Tensor ids = at::zeros({1, 17}, at::kLong);  // max_position_embeddings 16
    try {
      model->forward(ids);
      QFAIL("a 17-token input ran");
    } catch (const Error& e) {
      const std::string message = e.what();
      QVERIFY2(message.find("17") != std::string::npos &&
                   message.find("max_position_embeddings (16)") != std::string::npos,
               e.what());
    }
    QVERIFY_EXCEPTION_THROWN(model->forward(torch::tensor({1000}, at::kLong).unsqueeze(0)), Error);
  }
};

QTEST_APPLESS_MAIN(TestCLIPTextModel)
#include "tst_clip_text_model.moc"
