# Warning and sanitizer flags shared by every Papillon target.
# LibTorch, Qt and nlohmann-json are included as SYSTEM headers, so their warnings stay theirs.
add_library(papillon_compile_options INTERFACE)
target_compile_options(papillon_compile_options INTERFACE
  $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wpedantic -Wshadow -Wno-unused-parameter>)
if(PAPILLON_SANITIZE)
  target_compile_options(papillon_compile_options INTERFACE -fsanitize=address,undefined -fno-omit-frame-pointer)
  target_link_options(papillon_compile_options INTERFACE -fsanitize=address,undefined)
endif()

# papillon_torch_target(<target>): a target whose sources include LibTorch.
# It links torch + nlohmann-json and reuses the project's precompiled <torch/torch.h>.
function(papillon_torch_target target)
  target_link_libraries(${target} PUBLIC torch nlohmann_json::nlohmann_json papillon_compile_options)
  if(PAPILLON_PCH)
    target_precompile_headers(${target} REUSE_FROM papillon_pch)
  endif()
endfunction()
