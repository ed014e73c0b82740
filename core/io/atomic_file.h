#pragma once
// Writing files so that a crash, a full disk or a kill leaves either the old file or the new one.
#include <functional>
#include <string>

namespace papillon {

// Calls write(fd-backed stream path) on a temporary file beside `path`, fsyncs it and renames it
// over `path`. `write` receives the temporary path and must create it. Throws Error (and removes
// the temporary file) if anything fails.
void write_file_atomically(const std::string& path,
                           const std::function<void(const std::string& tmp_path)>& write);

// Same, for a buffer.
void write_file_atomically(const std::string& path, const void* data, size_t size);

}  // namespace papillon
