// The model Papillon ships (resources/models/fashion-mnist, trained by `papillon-cli train`):
// loads, knows its classes, takes class prompts and generates.
#include <torch/torch.h>

#include <QtTest>
#include <filesystem>

#include "core/pipelines/pipeline.h"
#include "core/training/dataset.h"
#include "core/util/error.h"
#include "tests/common/fixtures.h"

using namespace papillon;

using test::bundled_model_dir;

class TestBundledModel : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void initTestCase() { at::set_num_threads(1); }

  void fits_in_resources() {
    const std::string dir = bundled_model_dir();
    uint64_t bytes = 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
      if (e.is_regular_file()) bytes += e.file_size();
    }
    QVERIFY2(bytes <= 10u * 1000 * 1000, std::to_string(bytes).c_str());
    QVERIFY(!std::filesystem::exists(dir + "/training_state.safetensors"));
  }

  void loads_and_generates_from_a_class_prompt() {
    auto pipeline = load_pipeline(bundled_model_dir(), ComputeTarget{});
    const PipelineInfo& info = pipeline->info();
    QCOMPARE(info.class_names, fashion_mnist_class_names());
    QVERIFY(info.takes_prompt);
    QVERIFY(info.takes_guidance);
    QCOMPARE(info.default_scheduler, std::string("DDIMScheduler"));
    QVERIFY(info.default_steps > 0 && info.default_steps <= 50);
    GenerationRequest r;
    r.prompts = {"an ankle boot"};
    r.batch_size = 2;
    r.seed = 3;
    r.steps = 3;
    const GenerationResult a = pipeline->generate(r, RunControl{});
    QVERIFY(a.images.sizes() == at::IntArrayRef({2, 1, info.default_height, info.default_width}));
    QVERIFY(a.images.min().item<float>() >= 0.0f && a.images.max().item<float>() <= 1.0f);
    QCOMPARE(a.parameters[1].extra["class_label"].get<int64_t>(), int64_t(9));
    // The prompt as typed; the class it picked in its own field.
    QCOMPARE(a.parameters[1].prompt, std::string("an ankle boot"));
    QCOMPARE(a.parameters[1].class_name, std::string("Ankle boot"));
    QVERIFY(torch::equal(a.images, pipeline->generate(r, RunControl{}).images));
    r.prompts = {"a sneaker"};
    QVERIFY(!torch::equal(a.images, pipeline->generate(r, RunControl{}).images));
    r.prompts = {"a unicorn"};
    try {
      pipeline->generate(r, RunControl{});
      QFAIL("an unknown class was accepted");
    } catch (const Error& e) {
      QVERIFY2(std::string(e.what()).find("Ankle boot") != std::string::npos, e.what());
    }
  }
};

QTEST_APPLESS_MAIN(TestBundledModel)
#include "tst_bundled_model.moc"
