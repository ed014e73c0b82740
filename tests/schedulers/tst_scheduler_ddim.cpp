// DDIMScheduler against every ddim__* fixture case (diffusers 0.27.2), plus DDIM converted from the
// ddpm_tiny folder's DDPMScheduler config (diffusers' from_config rule) as DDIMPipeline does.
#include <torch/torch.h>
#include <QtTest/QtTest>

#include "core/schedulers/scheduling_ddim.h"
#include "tests/schedulers/scheduler_cases.h"

using namespace papillon;
using namespace papillon::test;

class TestSchedulerDdim : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() { at::set_num_threads(1); }

  void fixture_cases_data() {
    QTest::addColumn<QString>("name");
    const auto cases = scheduler_cases("ddim__");
    QVERIFY(cases.size() >= 5);
    for (const auto& c : cases)
      QTest::newRow(c.c_str()) << QString::fromStdString(c);
  }

  void fixture_cases() {
    QFETCH(QString, name);
    CaseHooks hooks;
    hooks.betas = [](const Scheduler& s) { return dynamic_cast<const DDIMScheduler&>(s).betas(); };
    hooks.alphas_cumprod = [](const Scheduler& s) {
      return dynamic_cast<const DDIMScheduler&>(s).alphas_cumprod();
    };
    CaseStats st;
    run_scheduler_case(name.toStdString(), hooks, st);
    qInfo("%s: max diff step %.3g, trace %.3g (rel), tables %.3g, add_noise %.3g", qPrintable(name),
          st.step_diff, st.trace_diff, st.table_diff, st.add_noise_diff);
  }

  // DDIMPipeline: DDIMScheduler.from_config(ddpm folder config), run with clip_sample=False. The
  // resolved config is the pipeline run's scheduler_config_resolved.
  void converted_from_ddpm_folder() {
    const Json cfg = fixture_json("pipelines/ddpm_tiny/scheduler/scheduler_config.json");
    auto s = make_scheduler("ddim", cfg, {{"clip_sample", false}});
    QCOMPARE(QString::fromStdString(s->class_name()), QString("DDIMScheduler"));
    const Json run = fixture_json("pipeline_runs/ddim_eta0_noclip_50steps_seed2_bs2/meta.json");
    const Json& want = run.at("scheduler_config_resolved");
    check_config(*s, want, "ddim from ddpm_tiny");
    if (QTest::currentTestFailed()) return;
    QCOMPARE(s->config().at("clip_sample").get<bool>(), false);
    s->set_timesteps(50);
    const auto& ts = run.at("timesteps");
    QCOMPARE(s->timesteps().numel(), static_cast<int64_t>(ts.size()));
    for (int64_t i = 0; i < s->timesteps().numel(); ++i) {
      QCOMPARE(s->timesteps()[i].item<int64_t>(), ts[static_cast<size_t>(i)].get<int64_t>());
    }
  }

  // A key written in the file survives conversion even when it differs from DDIM's default; a key
  // listed in _use_default_values takes DDIM's default.
  void use_default_values_rule() {
    Json cfg = {{"set_alpha_to_one", false},
                {"timestep_spacing", "trailing"},
                {"_use_default_values", {"timestep_spacing"}}};
    auto s = make_scheduler("DDIMScheduler", cfg);
    QCOMPARE(s->config().at("set_alpha_to_one").get<bool>(), false);
    QCOMPARE(QString::fromStdString(s->config().at("timestep_spacing").get<std::string>()),
             QString("leading"));
  }

  void wrong_type_names_key() {
    try {
      make_scheduler("ddim", Json::object(), {{"steps_offset", "one"}});
      QFAIL("a string steps_offset was accepted");
    } catch (const Error& e) {
      QVERIFY2(std::string(e.what()).find("steps_offset") != std::string::npos, e.what());
    }
  }
};

QTEST_APPLESS_MAIN(TestSchedulerDdim)
#include "tst_scheduler_ddim.moc"
