// PNDMScheduler against every pndm__* fixture case (diffusers 0.27.2): timesteps, sigmas,
// init_noise_sigma, teacher-forced and free-running traces, RNG draws, add_noise.
#include <torch/torch.h>
#include <QtTest/QtTest>

#include "core/schedulers/scheduling_pndm.h"
#include "tests/schedulers/scheduler_cases.h"

using namespace papillon;
using namespace papillon::test;

class TestSchedulerPndm : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() { at::set_num_threads(1); }
  void fixture_cases_data() { add_case_rows("pndm__", 2); }
  void fixture_cases() { PAPILLON_RUN_SCHEDULER_CASE(hooks_for<PNDMScheduler>()); }
};

QTEST_APPLESS_MAIN(TestSchedulerPndm)
#include "tst_scheduler_pndm.moc"
