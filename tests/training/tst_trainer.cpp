// The trainer: loss goes down, runs are deterministic, checkpoints reload and resume exactly, and
// the noising matches diffusers' DDPMScheduler fixture.
#include <torch/torch.h>

#include <QtTest>
#include <filesystem>
#include <fstream>

#include "core/models/unet_2d.h"
#include "core/pipelines/pipeline.h"
#include "core/pipelines/pipeline_ddpm.h"
#include "core/schedulers/scheduler_factory.h"
#include "core/schedulers/scheduling_ddpm.h"
#include "core/training/checkpoint.h"
#include "core/training/dataset.h"
#include "core/training/optimization.h"
#include "core/training/trainer.h"
#include "core/util/error.h"
#include "tests/common/fixtures.h"

using namespace papillon;

namespace {

// 8 images of 8x8, two classes: a bright square top-left (class 0) or bottom-right (class 1).
std::shared_ptr<const Dataset> tiny_dataset() {
  at::Tensor images = torch::full({8, 1, 8, 8}, -1.0);
  std::vector<int64_t> labels;
  for (int64_t i = 0; i < 8; ++i) {
    const int64_t k = i % 2;
    const int64_t off = k == 0 ? 1 : 4;
    images[i].narrow(1, off, 3).narrow(2, off + (i / 2) % 2, 3).fill_(1.0);
    labels.push_back(k);
  }
  return std::make_shared<TensorDataset>(images, torch::tensor(labels, torch::kLong),
                                         std::vector<std::string>{"top left", "bottom right"});
}

UNet2DModelConfig tiny_unet(int64_t num_class_embeds) {
  UNet2DModelConfig c;
  c.sample_size = {8};
  c.in_channels = 1;
  c.out_channels = 1;
  c.block_out_channels = {8, 16};
  c.down_block_types = {"DownBlock2D", "AttnDownBlock2D"};
  c.up_block_types = {"AttnUpBlock2D", "UpBlock2D"};
  c.layers_per_block = 1;
  c.norm_num_groups = 4;
  c.attention_head_dim = 8;
  if (num_class_embeds > 0) c.num_class_embeds = num_class_embeds;
  return c;
}

TrainerConfig tiny_config(const std::string& out, bool conditional) {
  TrainerConfig c;
  c.resolution = 8;
  c.unet = tiny_unet(conditional ? 3 : 0);
  c.class_conditional = conditional;
  c.batch_size = 4;
  c.max_steps = 8;
  c.learning_rate = 2e-3;
  c.lr_warmup_steps = 2;
  c.random_flip = true;
  c.seed = 11;
  c.output_dir = out;
  c.sample_count = 4;
  c.sample_steps = 4;
  return c;
}

}  // namespace

class TestTrainer : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase() { at::set_num_threads(1); }

  // Mixed precision is CUDA autocast: on the CPU it is refused with a message, not ignored; an
  // unknown device or precision names itself.
  void devices_and_mixed_precision_are_checked() {
    TrainerConfig c = tiny_config(test::temp_dir("train_device"), false);
    c.mixed_precision = "bf16";
    try {
      Trainer t(c, tiny_dataset());
      QFAIL("bf16 autocast on the CPU must be refused");
    } catch (const Error& e) {
      QVERIFY2(std::string(e.what()).find("needs the cuda device") != std::string::npos, e.what());
    }
    c.mixed_precision = "fp8";
    c.device = "cuda";
    if (!torch::cuda::is_available()) {
      try {
        Trainer t(c, tiny_dataset());
        QFAIL("cuda without a GPU must be refused");
      } catch (const Error& e) {
        QVERIFY2(std::string(e.what()).find("no CUDA") != std::string::npos, e.what());
      }
    }
    c.device = "tpu";
    c.mixed_precision = "no";
    QVERIFY_THROWS_EXCEPTION(Error, Trainer(c, tiny_dataset()));
  }

  void loss_goes_down() {
    TrainerConfig c = tiny_config(test::temp_dir("train_loss"), false);
    c.max_steps = 60;
    c.lr_scheduler = "constant";
    c.lr_warmup_steps = 0;
    c.random_flip = false;
    Trainer trainer(c, tiny_dataset());
    const TrainResult r = trainer.train();
    QCOMPARE(r.steps_done, int64_t(60));
    QCOMPARE(r.losses.size(), size_t(60));
    double first = 0, last = 0;
    for (int i = 0; i < 10; ++i) {
      first += r.losses[static_cast<size_t>(i)];
      last += r.losses[static_cast<size_t>(50 + i)];
    }
    QVERIFY2(last < 0.7 * first,
             ("first 10 " + std::to_string(first / 10) + ", last 10 " + std::to_string(last / 10))
                 .c_str());
  }

  void same_seed_same_losses() {
    const auto data = tiny_dataset();
    Trainer a(tiny_config(test::temp_dir("train_det_a"), true), data);
    Trainer b(tiny_config(test::temp_dir("train_det_b"), true), data);
    const auto la = a.train().losses, lb = b.train().losses;
    QCOMPARE(la.size(), size_t(8));
    QVERIFY(la == lb);  // bit-identical
    TrainerConfig other = tiny_config(test::temp_dir("train_det_c"), true);
    other.seed = 12;
    Trainer c(other, data);
    QVERIFY(c.train().losses != la);
  }

  void checkpoint_reloads_and_generates_the_same() {
    const std::string out = test::temp_dir("train_reload");
    TrainerConfig c = tiny_config(out, true);
    Trainer trainer(c, tiny_dataset());
    trainer.train();
    const std::string dir = checkpoint_dir(out);
    for (const char* f :
         {"model_index.json", "unet/config.json", "unet/diffusion_pytorch_model.safetensors",
          "scheduler/scheduler_config.json", "papillon.json", "training_state.json",
          "training_state.safetensors"}) {
      QVERIFY2(std::filesystem::exists(dir + "/" + f), f);
    }
    QVERIFY(std::filesystem::exists(out + "/loss.csv"));
    // The folder's UNet = the trainer's EMA weights, exactly.
    UNet2DModel loaded = load_unet_2d_model(dir + "/unet");
    UNet2DModel ema = trainer.ema_model();
    auto expected = ema->named_parameters();
    for (const auto& p : loaded->named_parameters()) {
      QVERIFY2(torch::equal(p.value(), expected[p.key()]), p.key().c_str());
    }
    QVERIFY(UNet2DModelConfig::from_json(loaded->config().to_json(), "x").to_json() ==
            trainer.unet_config().to_json());

    // load_pipeline: class names, prompts, guidance; same images as the in-memory weights.
    auto pipeline = load_pipeline(dir, ComputeTarget{});
    const PipelineInfo& info = pipeline->info();
    QCOMPARE(info.class_names, (std::vector<std::string>{"top left", "bottom right"}));
    QVERIFY(info.takes_prompt);
    QVERIFY(info.takes_guidance);
    QCOMPARE(info.default_scheduler, std::string("DDIMScheduler"));
    GenerationRequest r;
    r.prompts = {"Bottom Right"};
    r.batch_size = 2;
    r.seed = 5;
    r.steps = 4;
    r.guidance_scale = 2.0;
    const GenerationResult result = pipeline->generate(r, RunControl{});
    QCOMPARE(result.parameters[0].extra["class_label"].get<int64_t>(), int64_t(1));

    DDPMPipeline direct = DDPMPipeline::from_components(
        trainer.ema_model(),
        make_scheduler("DDIMScheduler", read_json_file(dir + "/scheduler/scheduler_config.json")),
        ComputeTarget{});
    UnconditionalRequest u;
    u.batch_size = 2;
    u.seed = 5;
    u.num_inference_steps = 4;
    u.class_labels = {1, 1};
    u.guidance_scale = 2.0;
    u.null_class = 2;
    const UnconditionalOutput expected_out = direct(u, RunControl{});
    QVERIFY(torch::equal(result.images, expected_out.images));

    // Guidance 0 is the unconditional (null-class) prediction, guidance 1 the conditional one.
    u.guidance_scale = 0.0;
    const at::Tensor g0 = direct(u, RunControl{}).final_sample;
    UnconditionalRequest null_only = u;
    null_only.guidance_scale = 1.0;
    null_only.null_class = -1;
    null_only.class_labels = {2, 2};
    PAPILLON_EXPECT_CLOSE(g0, direct(null_only, RunControl{}).final_sample, 1e-5, 1e-5,
                          "guidance 0 = null class");

    r.prompts = {"a purple elephant"};
    try {
      pipeline->generate(r, RunControl{});
      QFAIL("an unknown class was accepted");
    } catch (const papillon::Error& e) {
      QVERIFY(std::string(e.what()).find("top left, bottom right") != std::string::npos);
    }
  }

  void fp16_weights_reload() {
    const std::string out = test::temp_dir("train_fp16");
    TrainerConfig c = tiny_config(out, false);
    c.max_steps = 2;
    c.weights_dtype = "fp16";
    Trainer trainer(c, tiny_dataset());
    trainer.train();
    const auto file =
        SafetensorsFile::open(checkpoint_dir(out) + "/unet/diffusion_pytorch_model.safetensors");
    QCOMPARE(file.entries().front().dtype, std::string("F16"));
    UNet2DModel loaded = load_unet_2d_model(checkpoint_dir(out) + "/unet");
    auto expected = trainer.ema_model()->named_parameters();
    for (const auto& p : loaded->named_parameters()) {
      QCOMPARE(p.value().scalar_type(), at::kFloat);
      QVERIFY(torch::equal(p.value(), expected[p.key()].to(at::kHalf).to(at::kFloat)));
    }
  }

  void resume_gives_the_same_losses() {
    const auto data = tiny_dataset();
    Trainer whole(tiny_config(test::temp_dir("train_whole"), true), data);
    const TrainResult full = whole.train();

    const std::string out = test::temp_dir("train_resume");
    TrainerConfig c = tiny_config(out, true);
    c.checkpoint_every = 2;
    {
      Trainer first(c, data);
      TrainerCallbacks cb;
      cb.on_step = [&](const TrainStep& s) {
        if (s.step == 5) cb.cancel.cancel();
      };
      const TrainResult part = first.train(cb);
      QVERIFY(part.cancelled);
      QCOMPARE(part.steps_done, int64_t(5));
    }
    Trainer second(c, data, /*resume=*/true);
    QCOMPARE(second.steps_done(), int64_t(5));
    const TrainResult rest = second.train();
    QCOMPARE(rest.steps_done, int64_t(8));
    QVERIFY(rest.losses == full.losses);
    auto a = whole.model()->named_parameters();
    for (const auto& p : second.model()->named_parameters()) {
      QVERIFY2(torch::equal(p.value(), a[p.key()]), p.key().c_str());
    }
    // A different setting refuses to resume.
    TrainerConfig changed = c;
    changed.learning_rate = 1e-3;
    QVERIFY_THROWS_EXCEPTION(papillon::Error, Trainer(changed, data, true));
  }

  void a_failed_checkpoint_write_keeps_the_previous_one() {
    const std::string out = test::temp_dir("train_atomic");
    const std::string dir = out + "/checkpoint";
    write_folder_atomically(
        dir, [](const std::string& tmp) { write_text_file_atomically(tmp + "/a.txt", "first"); });
    try {
      write_folder_atomically(dir, [](const std::string& tmp) {
        write_text_file_atomically(tmp + "/a.txt", "second, half written");
        throw papillon::Error("killed");
      });
      QFAIL("the error was swallowed");
    } catch (const papillon::Error&) {
    }
    std::ifstream in(dir + "/a.txt");
    std::string text;
    std::getline(in, text);
    QCOMPARE(text, std::string("first"));
    int entries = 0;
    for (const auto& e : std::filesystem::directory_iterator(out)) {
      (void)e;
      ++entries;
    }
    QCOMPARE(entries, 1);  // no temporary folder left behind
    write_folder_atomically(
        dir, [](const std::string& tmp) { write_text_file_atomically(tmp + "/b.txt", "third"); });
    QVERIFY(!std::filesystem::exists(dir + "/a.txt"));
    QVERIFY(std::filesystem::exists(dir + "/b.txt"));
    QCOMPARE(find_complete_folder(dir), dir);
  }

  void noising_matches_diffusers() {
    // DDPMScheduler(1000, linear 1e-4..0.02) as train_unconditional.py builds it.
    const auto file =
        SafetensorsFile::open(test::fixture_path("schedulers/ddpm__ddpm_default.safetensors"));
    DDPMSchedulerConfig sc;
    sc.beta.num_train_timesteps = TrainerConfig{}.ddpm_num_steps;
    sc.beta.beta_schedule = TrainerConfig{}.ddpm_beta_schedule;
    DDPMScheduler scheduler(sc);
    PAPILLON_EXPECT_CLOSE(scheduler.alphas_cumprod(), file.get("alphas_cumprod"), 1e-5, 1e-5,
                          "alphas_cumprod");
    const at::Tensor clean = file.get("add_noise.clean"), noise = file.get("add_noise.noise");
    const at::Tensor t = file.get("add_noise.timesteps").to(at::kLong);
    const at::Tensor noisy = scheduler.add_noise(clean, noise, t);
    PAPILLON_EXPECT_CLOSE(noisy, file.get("add_noise.out"), 1e-5, 1e-5, "add_noise");
    // v-prediction target: x0 = sqrt(a) x_t - sqrt(1-a) v.
    const at::Tensor a = file.get("alphas_cumprod").index_select(0, t).view({-1, 1, 1, 1});
    const at::Tensor v = a.sqrt() * noise - (1 - a).sqrt() * clean;
    PAPILLON_EXPECT_CLOSE(a.sqrt() * file.get("add_noise.out") - (1 - a).sqrt() * v, clean, 1e-5,
                          1e-5, "x0 from v");
  }

  void schedules_and_ema() {
    // get_cosine_schedule_with_warmup: 0 at step 0, 1 after warm-up, 0.5 half-way, 0 at the end.
    QCOMPARE(lr_multiplier("cosine", 0, 10, 110), 0.0);
    QCOMPARE(lr_multiplier("cosine", 5, 10, 110), 0.5);
    QCOMPARE(lr_multiplier("cosine", 10, 10, 110), 1.0);
    QVERIFY(std::abs(lr_multiplier("cosine", 60, 10, 110) - 0.5) < 1e-12);
    QVERIFY(std::abs(lr_multiplier("cosine", 110, 10, 110)) < 1e-12);
    // EMAModel.get_decay: 0 for the first step, 1 - (1 + step/inv_gamma)^-power after, capped.
    EMAOptions o;
    QCOMPARE(ema_decay(o, 1), 0.0);
    QVERIFY(std::abs(ema_decay(o, 11) - (1 - std::pow(11.0, -0.75))) < 1e-15);
    QCOMPARE(ema_decay(o, 100000000), 0.9999);
  }

  void idx_files_are_validated() {
    const std::string dir = test::temp_dir("idx_bad");
    {
      FILE* f = std::fopen((dir + "/train-images-idx3-ubyte").c_str(), "wb");
      const unsigned char bad[] = {0, 0, 9, 3, 0, 0, 0, 1};
      std::fwrite(bad, 1, sizeof bad, f);
      std::fclose(f);
    }
    try {
      read_idx_file(dir + "/train-images-idx3-ubyte");
      QFAIL("a bad magic number was accepted");
    } catch (const papillon::Error& e) {
      QVERIFY(std::string(e.what()).find("train-images-idx3-ubyte") != std::string::npos);
      QVERIFY(std::string(e.what()).find("magic") != std::string::npos);
    }
    QVERIFY_THROWS_EXCEPTION(papillon::Error, FashionMnistDataset(dir, "train", 32));
    if (!std::filesystem::exists(FashionMnistDataset::kDefaultDir)) return;
    const FashionMnistDataset test_split(FashionMnistDataset::kDefaultDir, "t10k", 32);
    QCOMPARE(test_split.size(), int64_t(10000));
    const Example e = test_split.get(0);
    QVERIFY(e.image.sizes() == at::IntArrayRef({1, 32, 32}));
    QCOMPARE(e.label, int64_t(9));  // the first test image is an ankle boot
    QCOMPARE(e.image.narrow(1, 0, 2).max().item<float>(), -1.0f);  // the 2-pixel border
    QVERIFY(e.image.max().item<float>() <= 1.0f);
  }
};

QTEST_APPLESS_MAIN(TestTrainer)
#include "tst_trainer.moc"
