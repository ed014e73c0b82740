#!/usr/bin/env bash
# README command 2: installs what is needed, builds, and runs the whole test suite with ctest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/build.sh
ctest --test-dir build --output-on-failure -j "${PAPILLON_TEST_JOBS:-2}"
