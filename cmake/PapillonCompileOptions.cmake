# Warning and sanitizer flags shared by every Papillon target.
# LibTorch, Qt and nlohmann-json are included as SYSTEM headers, so their warnings stay theirs.
add_library(papillon_compile_options INTERFACE)
target_compile_options(papillon_compile_options INTERFACE
  $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wpedantic -Wshadow -Wno-unused-parameter>)

# Sanitizers apply to every target of the build (core, runtime, ui, app, tests; the precompiled
# header too, which must see the same flags), so they are set directory-wide here, before any
# target is created. LibTorch, Qt and OpenBLAS themselves stay uninstrumented.
if(PAPILLON_SANITIZE AND PAPILLON_TSAN)
  message(FATAL_ERROR "PAPILLON_SANITIZE (ASan+UBSan) and PAPILLON_TSAN cannot be combined")
endif()
if(PAPILLON_SANITIZE OR PAPILLON_FUZZ)
  # Undefined behaviour stops the program (a failing test), it is not just printed.
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined)
endif()
if(PAPILLON_TSAN)
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
endif()
if(PAPILLON_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "PAPILLON_FUZZ needs clang (libFuzzer): "
                        "cmake -DCMAKE_CXX_COMPILER=clang++ -DPAPILLON_FUZZ=ON (see scripts/fuzz)")
  endif()
  # Coverage instrumentation for every library the harnesses reach; fuzz_<name> adds the driver.
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()

# papillon_torch_target(<target>): a target whose sources include LibTorch.
# It links torch + nlohmann-json and reuses the project's precompiled <torch/torch.h>.
function(papillon_torch_target target)
  target_link_libraries(${target} PUBLIC torch nlohmann_json::nlohmann_json papillon_compile_options)
  if(PAPILLON_PCH)
    target_precompile_headers(${target} REUSE_FROM papillon_pch)
    # The header is precompiled in an object library (-fPIC); executables compile with -fPIE.
    # GCC 14 (Debian 13) then refuses the header ("created and used with different settings of
    # -fpie") and every test re-parses all of LibTorch. PIC code links into a PIE as well: compile
    # the executables that reuse the header with -fPIC too (the last of the two flags wins).
    get_target_property(_type ${target} TYPE)
    if(_type STREQUAL "EXECUTABLE" AND CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
      target_compile_options(${target} PRIVATE -fPIC)
    endif()
  endif()
endfunction()
