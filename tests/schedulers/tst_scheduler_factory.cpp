// The scheduler factory: names, and diffusers' from_config conversion rule checked against every
// pipeline run's resolved scheduler config and timesteps (the pipeline folder's
// scheduler_config.json, converted to the run's scheduler class with the run's explicit kwargs).
#include <torch/torch.h>
#include <QtTest/QtTest>

#include "tests/schedulers/scheduler_cases.h"

using namespace papillon;
using namespace papillon::test;

class TestSchedulerFactory : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() { at::set_num_threads(1); }

  void names() {
    const std::vector<std::pair<std::string, std::string>> expected = {
        {"ddpm", "DDPMScheduler"},
        {"ddim", "DDIMScheduler"},
        {"pndm", "PNDMScheduler"},
        {"euler", "EulerDiscreteScheduler"},
        {"euler-a", "EulerAncestralDiscreteScheduler"},
        {"dpm++2m", "DPMSolverMultistepScheduler"},
        {"dpm++2m-karras", "DPMSolverMultistepScheduler"},
        {"lms", "LMSDiscreteScheduler"},
        {"heun", "HeunDiscreteScheduler"}};
    for (const auto& [name, cls] : expected) {
      QCOMPARE(QString::fromStdString(scheduler_class_for(name)), QString::fromStdString(cls));
      QCOMPARE(QString::fromStdString(scheduler_class_for(cls)), QString::fromStdString(cls));
      auto s = make_scheduler(name, Json::object());
      QCOMPARE(QString::fromStdString(s->class_name()), QString::fromStdString(cls));
      QCOMPARE(QString::fromStdString(s->config().at("_class_name").get<std::string>()),
               QString::fromStdString(cls));
    }
    QVERIFY(make_scheduler("dpm++2m-karras", Json::object())
                ->config()
                .at("use_karras_sigmas")
                .get<bool>());
    QVERIFY(
        !make_scheduler("dpm++2m", Json::object())->config().at("use_karras_sigmas").get<bool>());
    bool threw = false;
    try {
      scheduler_class_for("dpm++9m");
    } catch (const Error& e) {
      threw = std::string(e.what()).find("dpm++2m") != std::string::npos;
    }
    QVERIFY(threw);
  }

  void pipeline_conversions_data() {
    QTest::addColumn<QString>("run");
    for (const auto& e : std::filesystem::directory_iterator(fixture_path("pipeline_runs"))) {
      const std::string n = e.path().filename().string();
      QTest::newRow(n.c_str()) << QString::fromStdString(n);
    }
  }

  void pipeline_conversions() {
    QFETCH(QString, run);
    const Json meta = python_json("pipeline_runs/" + run.toStdString() + "/meta.json");
    const std::string dir = meta.at("pipeline_dir").get<std::string>();
    const Json folder = python_json(dir + "/scheduler/scheduler_config.json");
    const Json& resolved = meta.at("scheduler_config_resolved");
    const std::string cls = meta.at("scheduler_class").get<std::string>();
    // explicit from_config kwargs: keys diffusers did not default whose value is not the file's
    std::vector<std::string> defaulted;
    if (resolved.contains("_use_default_values")) {
      for (const auto& k : resolved.at("_use_default_values"))
        defaulted.push_back(k);
    }
    const Json plain = make_scheduler(cls, folder)->config();
    Json overrides = Json::object();
    for (auto it = plain.begin(); it != plain.end(); ++it) {
      const std::string& key = it.key();
      if (key[0] == '_' || !resolved.contains(key)) continue;
      if (std::find(defaulted.begin(), defaulted.end(), key) != defaulted.end()) continue;
      if (folder.contains(key) && folder.at(key) == resolved.at(key)) continue;
      overrides[key] = resolved.at(key);
    }
    auto s = make_scheduler(cls, folder, overrides);
    check_config(*s, resolved, run.toStdString());
    if (QTest::currentTestFailed()) return;
    const int64_t n = meta.at("call_kwargs").at("num_inference_steps").get<int64_t>();
    s->set_timesteps(n);
    const auto& want = meta.at("timesteps");
    QCOMPARE(s->timesteps().numel(), static_cast<int64_t>(want.size()));
    for (int64_t i = 0; i < s->timesteps().numel(); ++i) {
      QCOMPARE(s->timesteps()[i].item<double>(), want[static_cast<size_t>(i)].get<double>());
    }
    qInfo("%s: %s, overrides %s", qPrintable(run), cls.c_str(), overrides.dump().c_str());
  }
};

QTEST_APPLESS_MAIN(TestSchedulerFactory)
#include "tst_scheduler_factory.moc"
