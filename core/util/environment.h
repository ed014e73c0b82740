#pragma once
// Process set-up every Papillon binary does first: BLAS kernel selection and thread counts.
#include <cstdint>
#include <string>

namespace papillon {

// Debian's OpenBLAS 0.3.21 takes recent AVX-512 CPUs for a Prescott and runs GEMM ~4.5x slower.
// OpenBLAS reads OPENBLAS_CORETYPE once, when it is loaded (before main), so when the variable is
// unset, the CPU has AVX-512 (or AVX2) and the loaded OpenBLAS picked no kernels of that width
// itself, this sets it and re-executes the program. Call it first in main(). It never re-executes
// twice (PAPILLON_REEXEC guards) and does nothing if the user set it.
void ensure_blas_environment(int argc, char** argv);

// The OpenBLAS core in use, as the environment asked for it ("SkylakeX", "default ..." with the
// family OpenBLAS detected).
std::string blas_core_description();
// The kernel family the loaded OpenBLAS uses ("Haswell", "SkylakeX" ...); empty if not OpenBLAS.
std::string detected_blas_core();

// Sets LibTorch's intra-op thread count (Debian's LibTorch defaults to 1) and OpenBLAS's own pool
// to the same number. n <= 0: all cores. OpenBLAS (pthreads build) otherwise keeps one thread per
// core for every GEMM: with one core busy elsewhere, a 60-step run of the tiny DDPM model took
// 21-62 s instead of 7 s.
void set_thread_count(int n);
int thread_count();
// OpenBLAS's thread count, or -1 when the BLAS in this process is not OpenBLAS.
int blas_thread_count();
// Threads for a model of this size when the user did not choose: small models run fastest on one
// thread (OpenMP's spin-waiting on a loaded 2-core machine made tiny models ~20x slower with two),
// big ones on all cores.
int auto_thread_count(int64_t model_parameters);
int hardware_thread_count();

}  // namespace papillon
