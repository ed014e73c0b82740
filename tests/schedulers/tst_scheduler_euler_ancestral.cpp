// EulerAncestralDiscreteScheduler against every euler_a__* fixture case (diffusers 0.27.2): float32
// timesteps, sigmas, init_noise_sigma, scale_model_input, teacher-forced and free-running traces,
// RNG draws, add_noise.
#include <torch/torch.h>
#include <QtTest/QtTest>

#include "core/schedulers/scheduling_euler_ancestral_discrete.h"
#include "tests/schedulers/scheduler_cases.h"

using namespace papillon;
using namespace papillon::test;

class TestSchedulerEulerAncestral : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() { at::set_num_threads(1); }
  void fixture_cases_data() { add_case_rows("euler_a__", 1); }
  void fixture_cases() {
    PAPILLON_RUN_SCHEDULER_CASE(hooks_for<EulerAncestralDiscreteScheduler>());
  }
};

QTEST_APPLESS_MAIN(TestSchedulerEulerAncestral)
#include "tst_scheduler_euler_ancestral.moc"
