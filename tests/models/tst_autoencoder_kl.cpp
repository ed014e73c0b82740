// AutoencoderKL against diffusers 0.27.2 golden data (models/vae_sd_tiny, weights in
// pipelines/sd_tiny/vae). Tolerance: atol 1e-4, rtol 1e-4 for outputs and hooked activations
// (fixtures/README.md, "single model forward"; the reference's own float32-vs-float64 error is
// <= 1.2e-5 for decode/forward). Raw random draws (rng_noise) must match exactly.
#include <torch/torch.h>
#include <QtTest/QtTest>

#include <map>
#include <string>

#include "core/io/safetensors.h"
#include "core/models/autoencoder_kl.h"
#include "core/util/error.h"
#include "core/util/random.h"
#include "tests/common/fixtures.h"

using namespace papillon;

namespace {

constexpr double kAtol = 1e-4;
constexpr double kRtol = 1e-4;
const char* const kWeights = "pipelines/sd_tiny/vae";

std::map<std::string, at::Tensor> load_io() {
  std::map<std::string, at::Tensor> io;
  for (auto& [name, tensor] :
       load_safetensors(test::fixture_path("models/vae_sd_tiny/io.safetensors"))) {
    io[name] = tensor;
  }
  return io;
}

const Json& call_meta(const Json& meta, const std::string& name) {
  for (const auto& call : meta.at("calls")) {
    if (call.at("name") == name) return call;
  }
  throw Error("vae_sd_tiny/meta.json has no call " + name);
}

// Compares every act.* of `call` with what `recorder` saw; returns the largest difference.
double check_activations(const ActivationRecorder& recorder, const Json& call,
                         const std::map<std::string, at::Tensor>& io, int& compared) {
  double worst = 0;
  const std::string name = call.at("name").get<std::string>();
  for (const auto& item : call.at("activations").items()) {
    const std::string& act = item.key();
    if (!recorder.contains(act)) throw Error("activation " + act + " not recorded");
    const auto c = test::compare(recorder.get(act), io.at(name + ".act." + act), kAtol, kRtol);
    if (!c.ok) throw Error(name + " act." + act + ": " + c.message);
    worst = std::max(worst, c.max_abs_diff);
    ++compared;
  }
  return worst;
}

double expect_close(const at::Tensor& actual, const at::Tensor& expected, const std::string& what) {
  const auto c = test::compare(actual, expected, kAtol, kRtol);
  if (!c.ok) throw Error(what + ": " + c.message);
  return c.max_abs_diff;
}

AutoencoderKL model_from_config(const Json& json) {
  AutoencoderKL model(AutoencoderKLConfig::from_json(json, "vae/config.json"));
  model->eval();
  return model;
}

std::string config_error(const Json& json) {
  try {
    AutoencoderKLConfig::from_json(json, "vae/config.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

class TestAutoencoderKL : public QObject {
  Q_OBJECT

 private:
  AutoencoderKL model_{nullptr};
  std::map<std::string, at::Tensor> io_;
  Json meta_;

 private Q_SLOTS:
  void initTestCase() {
    at::set_num_threads(1);
    model_ = load_autoencoder_kl(test::fixture_path(kWeights));
    io_ = load_io();
    meta_ = test::fixture_json("models/vae_sd_tiny/meta.json");
  }

  void encode_matches_fixture() {
    torch::NoGradGuard no_grad;
    ActivationRecorder recorder;
    model_->set_activation_recorder(&recorder);
    const DiagonalGaussianDistribution dist = model_->encode(io_.at("encode.in.x"));
    model_->set_activation_recorder(nullptr);
    double worst = 0;
    worst = std::max(worst, expect_close(dist.mean, io_.at("encode.out.mean"), "mean"));
    worst = std::max(worst, expect_close(dist.logvar, io_.at("encode.out.logvar"), "logvar"));
    worst = std::max(worst, expect_close(dist.std, io_.at("encode.out.std"), "std"));
    worst = std::max(worst, expect_close(dist.mode(), io_.at("encode.out.mode"), "mode"));
    int compared = 0;
    worst = std::max(worst, check_activations(recorder, call_meta(meta_, "encode"), io_, compared));
    QCOMPARE(compared, 6);
    qInfo("encode: max |diff| %.3g over outputs and %d activations", worst, compared);
  }

  void posterior_sample_reproduces_diffusers_draw() {
    torch::NoGradGuard no_grad;
    // meta.json: sample(generator=torch.Generator().manual_seed(142)) = mean + std *
    // randn(mean.shape)
    const QString call = QString::fromStdString(call_meta(meta_, "encode").at("call"));
    QVERIFY2(call.contains("manual_seed(142)"), qPrintable(call));
    const DiagonalGaussianDistribution dist = model_->encode(io_.at("encode.in.x"));
    Generators noise_gen = Generators::from_seed(142);
    const at::Tensor noise = noise_gen.randn(dist.mean.sizes());
    QVERIFY(torch::equal(noise, io_.at("encode.out.rng_noise")));
    Generators gen = Generators::from_seed(142);
    const at::Tensor sample = dist.sample(gen);
    qInfo("sample: max |diff| %.3g",
          expect_close(sample, io_.at("encode.out.rng_sample"), "sample"));

    // forward(sample_posterior=true) decodes exactly that sample.
    Generators forward_gen = Generators::from_seed(142);
    const at::Tensor decoded = model_->forward(io_.at("encode.in.x"), true, &forward_gen);
    QVERIFY(torch::equal(decoded, model_->decode(sample)));
    QVERIFY_EXCEPTION_THROWN(model_->forward(io_.at("encode.in.x"), true, nullptr), Error);
  }

  void decode_matches_fixture() {
    torch::NoGradGuard no_grad;
    ActivationRecorder recorder;
    model_->set_activation_recorder(&recorder);
    const at::Tensor out = model_->decode(io_.at("decode.in.z"));
    model_->set_activation_recorder(nullptr);
    double worst = expect_close(out, io_.at("decode.out.sample"), "decode sample");
    int compared = 0;
    worst = std::max(worst, check_activations(recorder, call_meta(meta_, "decode"), io_, compared));
    QCOMPARE(compared, 7);
    qInfo("decode: max |diff| %.3g over output and %d activations", worst, compared);
  }

  void forward_matches_fixture() {
    torch::NoGradGuard no_grad;
    const at::Tensor out = model_->forward(io_.at("forward.in.x"));
    qInfo("forward: max |diff| %.3g",
          expect_close(out, io_.at("forward.out.sample"), "forward sample"));
  }

  void parameter_names_equal_keys_json() {
    const Json keys = test::fixture_json("models/vae_sd_tiny/keys.json");
    const auto params = model_->named_parameters(/*recurse=*/true);
    QCOMPARE(params.size(), keys.size());
    size_t i = 0;
    for (const auto& item : params) {
      const Json& key = keys.at(i++);
      QCOMPARE(QString::fromStdString(item.key()),
               QString::fromStdString(key.at("name").get<std::string>()));
      QCOMPARE(item.value().sizes().vec(), key.at("shape").get<std::vector<int64_t>>());
    }
  }

  void slicing_equals_batched() {
    torch::NoGradGuard no_grad;
    const at::Tensor z = at::cat({io_.at("decode.in.z"), io_.at("decode.in.z").flip(3)});
    const at::Tensor batched = model_->decode(z);
    model_->enable_slicing(true);
    const at::Tensor sliced = model_->decode(z);
    model_->enable_slicing(false);
    // Batch 1 and batch 2 take different GEMM blockings: equal to float32 rounding (~1e-5), so
    // the single-forward tolerance applies.
    PAPILLON_EXPECT_CLOSE(sliced, batched, kAtol, kRtol, "sliced vs batched decode");
    PAPILLON_EXPECT_CLOSE(sliced.narrow(0, 0, 1), io_.at("decode.out.sample"), kAtol, kRtol,
                          "sliced decode vs fixture");
  }

  void tiled_decode_of_one_tile_equals_decode() {
    torch::NoGradGuard no_grad;
    const at::Tensor z = io_.at("decode.in.z");
    // sample_size 64, 4 blocks: tiles of 64 pixels / 8 latents; the fixture latent is one tile.
    QCOMPARE(model_->tile_sample_min_size(), int64_t{64});
    QCOMPARE(model_->tile_latent_min_size(), int64_t{8});
    QVERIFY(torch::equal(model_->decode_tiled(z), model_->decode(z)));
    QVERIFY(!model_->use_tiling());
  }

  void tiled_decode_of_a_large_latent() {
    torch::NoGradGuard no_grad;
    Generators gen = Generators::from_seed(3);
    const at::Tensor z = gen.randn({1, 4, 16, 16});
    const at::Tensor tiled = model_->decode_tiled(z);
    QCOMPARE(tiled.sizes().vec(), (std::vector<int64_t>{1, 3, 128, 128}));
    QVERIFY(torch::isfinite(tiled).all().item<bool>());

    // Tiles start every int(8 * 0.75) = 6 latents (48 pixels); each keeps its first 64 - 16 = 48
    // rows/columns, whose first blend_extent = 16 fade in from the tile above / to the left.
    const int64_t stride = 6, tile = 8, out_stride = 48, blend = 16;
    auto decode_tile = [&](int64_t i, int64_t j) {
      return model_->decode(
          z.slice(2, i * stride, i * stride + tile).slice(3, j * stride, j * stride + tile));
    };
    for (int64_t i = 0; i < 3; ++i) {
      for (int64_t j = 0; j < 3; ++j) {
        const at::Tensor own = decode_tile(i, j);
        const int64_t r0 = i == 0 ? 0 : blend, c0 = j == 0 ? 0 : blend;
        const int64_t rows = std::min<int64_t>(out_stride, own.size(2)) - r0;
        const int64_t cols = std::min<int64_t>(out_stride, own.size(3)) - c0;
        const at::Tensor expected = own.slice(2, r0, r0 + rows).slice(3, c0, c0 + cols);
        const at::Tensor actual = tiled.slice(2, i * out_stride + r0, i * out_stride + r0 + rows)
                                      .slice(3, j * out_stride + c0, j * out_stride + c0 + cols);
        QVERIFY2(torch::equal(actual, expected),
                 qPrintable(QString("unblended part of tile %1,%2").arg(i).arg(j)));
      }
    }
    // The vertical seam between tiles (0,0) and (1,0), left of any horizontal blend: row 48 + y
    // = a[48 + y] * (1 - y/16) + b[y] * (y/16).
    const at::Tensor a = decode_tile(0, 0), b = decode_tile(1, 0);
    for (int64_t y = 0; y < blend; ++y) {
      const double w = static_cast<double>(y) / blend;
      const at::Tensor expected =
          (a.select(2, 48 + y) * (1 - w) + b.select(2, y) * w).slice(2, 0, out_stride);
      // Same operations on the same tiles: bit-identical.
      PAPILLON_EXPECT_CLOSE(tiled.select(2, out_stride + y).slice(2, 0, out_stride), expected, 0.0,
                            0.0, "blended seam row");
    }

    // Against the plain decode: each tile sees only its own 8x8 latents, and with random weights
    // (global mid-block attention, wide receptive fields) tiling changes the image everywhere, so
    // the distance is only reported; the tiling arithmetic is checked exactly above.
    const at::Tensor plain = model_->decode(z);
    const double interior =
        (tiled - plain).slice(2, 16, 112).slice(3, 16, 112).abs().max().item<double>();
    qInfo("tiled vs plain decode, interior max |diff| %.3g (max |plain| %.3g)", interior,
          plain.abs().max().item<double>());

    // enable_tiling() routes decode() through the same path.
    model_->enable_tiling(true);
    const at::Tensor via_decode = model_->decode(z);
    model_->enable_tiling(false);
    QVERIFY(torch::equal(via_decode, tiled));
  }

  void tiled_encode_shapes() {
    torch::NoGradGuard no_grad;
    Generators gen = Generators::from_seed(4);
    const at::Tensor x = gen.randn({1, 3, 96, 96});
    model_->enable_tiling(true);
    const DiagonalGaussianDistribution dist = model_->encode(x);
    model_->enable_tiling(false);
    // Tiles every 48 pixels (6 latents kept of 8, 2 blended): 96 px -> 6 + 6 latents.
    QCOMPARE(dist.mean.sizes().vec(), (std::vector<int64_t>{1, 4, 12, 12}));
    // The first tile's unblended 6x6 latents equal the plain encode of that 64x64 crop.
    const DiagonalGaussianDistribution first = model_->encode(x.slice(2, 0, 64).slice(3, 0, 64));
    QVERIFY(torch::equal(dist.mean.slice(2, 0, 6).slice(3, 0, 6),
                         first.mean.slice(2, 0, 6).slice(3, 0, 6)));
  }

  void config_errors_name_the_key() {
    const Json base = read_json_file(test::fixture_path(std::string(kWeights) + "/config.json"));
    QVERIFY(config_error(base).empty());
    const AutoencoderKLConfig parsed = AutoencoderKLConfig::from_json(base, "vae/config.json");
    QCOMPARE(parsed.vae_scale_factor(), int64_t{8});
    QCOMPARE(parsed.scaling_factor, base.at("scaling_factor").get<double>());

    Json wrong_type = base;
    wrong_type["latent_channels"] = "four";
    const std::string type_error = config_error(wrong_type);
    QVERIFY2(type_error.find("vae/config.json: latent_channels") != std::string::npos,
             type_error.c_str());

    Json wrong_list = base;
    wrong_list["block_out_channels"] = {32, 64};
    const std::string list_error = config_error(wrong_list);
    QVERIFY2(list_error.find("down_block_types") != std::string::npos, list_error.c_str());

    Json unknown_block = base;
    unknown_block["up_block_types"][2] = "UpBlock2D";
    const std::string block_error = config_error(unknown_block);
    QVERIFY2(block_error.find("up_block_types") != std::string::npos &&
                 block_error.find("UpBlock2D") != std::string::npos,
             block_error.c_str());

    Json bad_groups = base;
    bad_groups["norm_num_groups"] = 24;
    QVERIFY(config_error(bad_groups).find("norm_num_groups") != std::string::npos);

    Json bad_act = base;
    bad_act["act_fn"] = "softsign";
    QVERIFY(config_error(bad_act).find("act_fn") != std::string::npos);
  }

  void without_quant_convs() {
    Json json = read_json_file(test::fixture_path(std::string(kWeights) + "/config.json"));
    json["use_quant_conv"] = false;
    json["use_post_quant_conv"] = false;
    AutoencoderKL model = model_from_config(json);
    for (const auto& item : model->named_parameters()) {
      QVERIFY2(item.key().find("quant_conv") == std::string::npos, item.key().c_str());
    }
    torch::NoGradGuard no_grad;
    QCOMPARE(model->encode(io_.at("encode.in.x")).mean.sizes().vec(),
             (std::vector<int64_t>{1, 4, 8, 8}));
  }
};

QTEST_APPLESS_MAIN(TestAutoencoderKL)
#include "tst_autoencoder_kl.moc"
