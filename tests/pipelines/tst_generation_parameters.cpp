// The PNG parameter text: AUTOMATIC1111 format out and in, and the JSON chunk.
#include <QtTest>

#include "core/pipelines/generation_parameters.h"
#include "core/pipelines/image_grid.h"
#include "tests/common/fixtures.h"

#include <torch/torch.h>

using namespace papillon;

class TestGenerationParameters : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void a1111_text_unconditional() {
    GenerationParameters p;
    p.steps = 50;
    p.scheduler = "DDIMScheduler";
    p.seed = 1;
    p.width = 32;
    p.height = 32;
    p.model = "ddpm-butterflies-32px";
    QCOMPARE(
        QString::fromStdString(p.to_a1111()),
        QString("Steps: 50, Sampler: DDIM, Seed: 1, Size: 32x32, Model: ddpm-butterflies-32px"));
  }

  void a1111_round_trip() {
    GenerationParameters p;
    p.prompt = "an abstract oil painting of sks mr potato head by picasso";
    p.negative_prompt = "blurry, low quality";
    p.steps = 25;
    p.scheduler = "EulerAncestralDiscreteScheduler";
    p.guidance_scale = 5.5;
    p.seed = 4242424242ull;
    p.width = 512;
    p.height = 768;
    p.model = "mr-potato-head";
    const auto q = GenerationParameters::from_a1111(p.to_a1111());
    QCOMPARE(q.prompt, p.prompt);
    QCOMPARE(q.negative_prompt, p.negative_prompt);
    QCOMPARE(q.steps, p.steps);
    QCOMPARE(q.scheduler, p.scheduler);
    QCOMPARE(*q.guidance_scale, *p.guidance_scale);
    QCOMPARE(q.seed, p.seed);
    QCOMPARE(q.width, p.width);
    QCOMPARE(q.height, p.height);
    QCOMPARE(q.model, p.model);
    const auto r = GenerationParameters::from_json(p.to_json());
    QCOMPARE(r.to_a1111(), p.to_a1111());
  }

  void reads_text_written_by_automatic1111() {
    const std::string text =
        "masterpiece, (best quality:1.2), a cat\nwearing a hat\n"
        "Negative prompt: lowres, bad anatomy\n"
        "Steps: 20, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 3344, Size: 512x512, "
        "Model hash: abc123, Model: v1-5-pruned, Lora hashes: \"foo: 1a2b, bar: 3c4d\", Version: "
        "v1.6.0";
    const auto p = GenerationParameters::from_a1111(text);
    QCOMPARE(p.prompt, std::string("masterpiece, (best quality:1.2), a cat\nwearing a hat"));
    QCOMPARE(p.negative_prompt, std::string("lowres, bad anatomy"));
    QCOMPARE(p.steps, int64_t(20));
    QCOMPARE(p.scheduler, std::string("DPMSolverMultistepScheduler"));
    QVERIFY(p.extra.value("use_karras_sigmas", false));
    QCOMPARE(*p.guidance_scale, 7.0);
    QCOMPARE(p.seed, uint64_t(3344));
    QCOMPARE(p.model, std::string("v1-5-pruned"));
    QCOMPARE(p.extra["Lora hashes"].get<std::string>(), std::string("foo: 1a2b, bar: 3c4d"));
    QCOMPARE(p.extra["Model hash"].get<std::string>(), std::string("abc123"));
  }

  // A class-conditional image: the typed prompt first, the class and eta (0 too) as fields that
  // AUTOMATIC1111's parser reads as key: value pairs; a class with a comma is quoted as A1111
  // quotes.
  void class_and_eta_fields() {
    GenerationParameters p;
    p.prompt = "a sneaker";
    p.steps = 25;
    p.scheduler = "DDIMScheduler";
    p.guidance_scale = 3.0;
    p.seed = 9;
    p.width = 28;
    p.height = 28;
    p.model = "fashion-mnist";
    p.eta = 0.0;
    p.class_name = "Sneaker";
    QCOMPARE(QString::fromStdString(p.to_a1111()),
             QString("a sneaker\nSteps: 25, Sampler: DDIM, CFG scale: 3, Seed: 9, Size: 28x28, "
                     "Model: fashion-mnist, Eta: 0, Class: Sneaker"));
    auto q = GenerationParameters::from_a1111(p.to_a1111());
    QCOMPARE(q.prompt, p.prompt);
    QCOMPARE(q.class_name, p.class_name);
    QCOMPARE(q.eta.value_or(-1), 0.0);
    QCOMPARE(GenerationParameters::from_json(p.to_json()).class_name, p.class_name);
    p.class_name = "Shirt, \"long\": sleeves";
    const std::string text = p.to_a1111();
    QVERIFY2(text.find("Class: \"Shirt, \\\"long\\\": sleeves\"") != std::string::npos,
             text.c_str());
    q = GenerationParameters::from_a1111(text);
    QCOMPARE(q.class_name, p.class_name);
    QCOMPARE(q.model, p.model);
    // A1111's own DDIM key.
    QCOMPARE(
        GenerationParameters::from_a1111("Steps: 5, Sampler: DDIM, Eta DDIM: 0.3").eta.value_or(-1),
        0.3);
  }

  // torchvision.utils.make_grid semantics (padding 2, nrow 8, pad_value 0).
  void grid_layout_matches_make_grid() {
    const auto images = torch::rand({10, 3, 4, 5});
    GridOptions o;
    const auto grid = make_grid(images, o);
    // 8 columns, 2 rows: width 8*(5+2)+2, height 2*(4+2)+2.
    QCOMPARE(grid.size(0), int64_t(3));
    QCOMPARE(grid.size(1), int64_t(14));
    QCOMPARE(grid.size(2), int64_t(58));
    QVERIFY(torch::equal(grid.narrow(1, 2, 4).narrow(2, 2, 5), images[0]));
    QVERIFY(torch::equal(grid.narrow(1, 8, 4).narrow(2, 9, 5), images[9]));
    QCOMPARE(grid.narrow(1, 8, 4).narrow(2, 16, 5).abs().sum().item<double>(), 0.0);  // empty cell
    const auto timeline = make_timeline({images.narrow(0, 0, 2), images.narrow(0, 2, 2)}, o);
    QCOMPARE(timeline.size(2), int64_t(2 * 7 + 2));
    QVERIFY(torch::equal(timeline.narrow(1, 2, 4).narrow(2, 9, 5), images[2]));  // image 0, frame 1
    QVERIFY(torch::equal(timeline.narrow(1, 8, 4).narrow(2, 2, 5), images[1]));  // image 1, frame 0
  }
};

QTEST_APPLESS_MAIN(TestGenerationParameters)
#include "tst_generation_parameters.moc"
