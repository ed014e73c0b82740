// PixArt-α's Transformer2DModel (ada_norm_single) against diffusers 0.27.2 golden data: every
// transformer call of the three t5_pixart pipeline runs (CFG and not, 64x64 at the sample size
// and 64x96 where the position embedding is recomputed, DPM-Solver and DDIM timesteps), given the
// recorded inputs. Tolerance: rtol 1e-4 + atol 1e-4 (t5_pixart/README.md, "transformer outputs /
// latents per step").
#include <torch/torch.h>
#include <QtTest/QtTest>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <string>

#include "core/io/config.h"
#include "core/io/safetensors.h"
#include "core/models/pixart_transformer_2d.h"
#include "core/util/error.h"
#include "tests/common/fixtures.h"

using namespace papillon;
using test::error_of;
namespace fs = std::filesystem;

namespace {

constexpr double kAtol = 1e-4;
constexpr double kRtol = 1e-4;
const char* const kTransformer = "t5_pixart/pipelines/pixart_tiny/transformer";
const char* const kRuns[] = {"pixart_dpmpp2m_8steps_seed1", "pixart_dpmpp2m_neg_64x96_6steps_seed2",
                             "pixart_ddim_nocfg_5steps_seed3"};

std::map<std::string, at::Tensor> load_run(const std::string& run) {
  std::map<std::string, at::Tensor> io;
  for (auto& [name, tensor] :
       load_safetensors(test::fixture_path("t5_pixart/pipeline_runs/" + run + "/run.safetensors")))
    io[name] = tensor;
  return io;
}

Json transformer_config() {
  return test::fixture_json(std::string(kTransformer) + "/config.json");
}

}  // namespace

class TestPixArtTransformer2D : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() { at::set_num_threads(1); }

  void config_reads_the_pixart_keys() {
    const auto c = PixArtTransformer2DModelConfig::from_json(transformer_config(), "config.json");
    QCOMPARE(c.inner_dim(), int64_t{32});
    QCOMPARE(c.output_channels(), int64_t{8});
    QCOMPARE(c.patch_size, int64_t{2});
    QCOMPARE(c.caption_channels.value_or(0), int64_t{64});
    QCOMPARE(c.resolved_interpolation_scale(), 1.0);  // interpolation_scale null, sample_size 8
    QVERIFY(!c.use_additional_conditions());
  }

  void every_transformer_call_of_the_runs_matches() {
    torch::NoGradGuard no_grad;
    PixArtTransformer2DModel model =
        load_pixart_transformer_2d_model(test::fixture_path(kTransformer));
    for (const char* run : kRuns) {
      const auto io = load_run(run);
      const Json meta =
          test::fixture_json(std::string("t5_pixart/pipeline_runs/") + run + "/meta.json");
      const bool cfg = meta.at("do_classifier_free_guidance").get<bool>();
      at::Tensor embeds = io.at("prompt_embeds");
      at::Tensor mask = io.at("prompt_attention_mask");
      if (cfg) {
        embeds = at::cat({io.at("negative_prompt_embeds"), embeds});
        mask = at::cat({io.at("negative_prompt_attention_mask"), mask});
      }
      const int64_t calls = meta.at("transformer_calls").get<int64_t>();
      QVERIFY(calls > 0);
      for (int64_t i = 0; i < calls; ++i) {
        char step[32];
        std::snprintf(step, sizeof step, "step%03lld", static_cast<long long>(i));
        const std::string key = step;
        const at::Tensor out =
            model->forward(io.at(key + ".transformer_in"), embeds, io.at(key + ".timestep"), mask);
        PAPILLON_EXPECT_CLOSE(out, io.at(key + ".transformer_out"), kAtol, kRtol,
                              std::string(run) + " " + step + ".transformer_out");
      }
    }
  }

  void the_position_embedding_follows_the_grid() {
    // 2x3 grid, base 2: rows embed (column, row) coordinates as sin | cos halves.
    const at::Tensor e = get_2d_sincos_pos_embed(8, 2, 3, 2.0, 1.0);
    QCOMPARE(e.sizes().vec(), (std::vector<int64_t>{6, 8}));
    // Token (row 1, column 2): column coordinate 2 / (3 / 2) = 4/3, row coordinate 1 / (2/2) = 1.
    const float col = static_cast<float>(2.0f / static_cast<float>(3.0 / 2.0));
    const double omega1 = 1.0 / std::pow(10000.0, 0.5);
    const at::Tensor row = e[5];
    QCOMPARE(row[0].item<float>(), static_cast<float>(std::sin(col * 1.0)));
    QCOMPARE(row[1].item<float>(), static_cast<float>(std::sin(col * omega1)));
    QCOMPARE(row[2].item<float>(), static_cast<float>(std::cos(col * 1.0)));
    QCOMPARE(row[4].item<float>(), static_cast<float>(std::sin(1.0)));
    QCOMPARE(row[7].item<float>(), static_cast<float>(std::cos(omega1)));
    QVERIFY(error_of([] { get_2d_sincos_pos_embed(6, 2, 2, 1.0, 1.0); }).find("multiple of 4") !=
            std::string::npos);
  }

  void other_transformer_forms_are_refused_by_name() {
    Json j = transformer_config();
    j["norm_type"] = "layer_norm";
    std::string e =
        error_of([&] { PixArtTransformer2DModelConfig::from_json(j, "t/config.json"); });
    QVERIFY2(e.find("t/config.json: norm_type") != std::string::npos, e.c_str());
    j = transformer_config();
    j["cross_attention_dim"] = 48;
    e = error_of([&] { PixArtTransformer2DModelConfig::from_json(j, "t/config.json"); });
    QVERIFY2(e.find("cross_attention_dim") != std::string::npos, e.c_str());
    j = transformer_config();
    j.erase("caption_channels");
    e = error_of([&] { PixArtTransformer2DModelConfig::from_json(j, "t/config.json"); });
    QVERIFY2(e.find("caption_channels") != std::string::npos, e.c_str());
    j = transformer_config();
    j["patch_size"] = "two";
    e = error_of([&] { PixArtTransformer2DModelConfig::from_json(j, "t/config.json"); });
    QVERIFY2(e.find("patch_size") != std::string::npos, e.c_str());
  }

  void a_missing_or_misshaped_weight_is_named() {
    const std::string dir = test::temp_dir("pixart_transformer_broken");
    fs::copy_file(test::fixture_path(kTransformer) + "/config.json", dir + "/config.json");
    TensorList tensors =
        load_safetensors(test::fixture_path(kTransformer) + "/diffusion_pytorch_model.safetensors");
    TensorList broken;
    for (auto& [name, t] : tensors) {
      if (name == "transformer_blocks.1.scale_shift_table") continue;
      if (name == "caption_projection.linear_1.weight") {
        broken.emplace_back(name, t.narrow(1, 0, 32).clone());
        continue;
      }
      broken.emplace_back(name, t);
    }
    save_safetensors(dir + "/diffusion_pytorch_model.safetensors", broken);
    const std::string e = error_of([&] { load_pixart_transformer_2d_model(dir); });
    QVERIFY2(e.find("transformer_blocks.1.scale_shift_table") != std::string::npos, e.c_str());
    QVERIFY2(e.find("caption_projection.linear_1.weight") != std::string::npos, e.c_str());
  }

  void wrong_inputs_get_a_clear_error() {
    torch::NoGradGuard no_grad;
    PixArtTransformer2DModel model =
        load_pixart_transformer_2d_model(test::fixture_path(kTransformer));
    const at::Tensor t = at::full({1}, 999, at::kLong);
    std::string e = error_of([&] {
      model->forward(at::zeros({1, 4, 7, 8}), at::zeros({1, 120, 64}), t);
    });
    QVERIFY2(e.find("multiples of 2") != std::string::npos, e.c_str());
    e = error_of([&] { model->forward(at::zeros({1, 4, 8, 8}), at::zeros({1, 120, 32}), t); });
    QVERIFY2(e.find("[B, M, 64]") != std::string::npos, e.c_str());
  }
};

QTEST_GUILESS_MAIN(TestPixArtTransformer2D)
#include "tst_pixart_transformer_2d.moc"
