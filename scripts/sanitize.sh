#!/usr/bin/env bash
# Builds and tests Papillon under sanitizers, each in its own build folder.
#   scripts/sanitize.sh asan [ctest args]   ASan+UBSan (-DPAPILLON_SANITIZE=ON), the whole test suite,
#                                           in build-asan (a full build: ~2x the normal build time)
#   scripts/sanitize.sh tsan [ctest args]   ThreadSanitizer (-DPAPILLON_TSAN=ON) on the worker/queue
#                                           tests (tst_generation_worker, tst_worker_faults), in
#                                           build-tsan
# Any sanitizer report fails the test that triggered it (halt_on_error, exit code).
# CXX=clang++ builds with clang (about twice as fast to compile here as g++).
set -euo pipefail
cd "$(dirname "$0")/.."
kind="${1:-asan}"
shift || true
jobs="${PAPILLON_JOBS:-$(nproc)}"
# Sanitized code runs 2-10x slower: lift Qt Test's 5-minute limit per test function.
export QTEST_FUNCTION_TIMEOUT="${QTEST_FUNCTION_TIMEOUT:-3000000}"
supp="$PWD/cmake/sanitizers"
case "$kind" in
  asan)
    cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Release -DPAPILLON_SANITIZE=ON >/dev/null
    ninja -C build-asan -j "$jobs"
    # LeakSanitizer stays on; the suppressions name third-party allocations only (see the file).
    # Slow (DWARF) unwinding for allocations: Qt is built without frame pointers, and the
    # suppressions name Qt frames that the fast unwinder never reaches.
    export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:abort_on_error=0:fast_unwind_on_malloc=0"
    export LSAN_OPTIONS="suppressions=$supp/lsan.supp:print_suppressions=0"
    export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
    # -LE sentencepiece: the tests that load the sentencepiece module, which needs RTLD_DEEPBIND,
    # which the sanitizer runtimes refuse (docs/architecture.md, "T5 and PixArt-α").
    ctest --test-dir build-asan --output-on-failure -j "${PAPILLON_TEST_JOBS:-2}" --timeout 3000 \
      -LE sentencepiece "$@"
    ;;
  tsan)
    cmake -S . -B build-tsan -G Ninja -DCMAKE_BUILD_TYPE=Release -DPAPILLON_TSAN=ON >/dev/null
    ninja -C build-tsan -j "$jobs" tst_generation_worker tst_worker_faults
    export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$supp/tsan.supp"
    ctest --test-dir build-tsan --output-on-failure --timeout 3000 \
      -R '^(tst_generation_worker|tst_worker_faults)$' "$@"
    ;;
  *)
    echo "usage: scripts/sanitize.sh asan|tsan [ctest args]" >&2
    exit 2
    ;;
esac
