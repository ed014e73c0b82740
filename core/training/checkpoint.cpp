#include "core/training/checkpoint.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/io/atomic_file.h"
#include "core/util/error.h"

namespace papillon {
namespace fs = std::filesystem;

namespace {

void fsync_path(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

void fsync_tree(const fs::path& dir) {
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_directory()) fsync_path(entry.path().string());
  }
  fsync_path(dir.string());
}

}  // namespace

void write_folder_atomically(const std::string& dir_text,
                             const std::function<void(const std::string& tmp_dir)>& fill) {
  const fs::path dir = fs::absolute(dir_text).lexically_normal();
  const fs::path parent = dir.parent_path();
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec) throw Error(parent.string() + ": cannot create the folder (" + ec.message() + ")");
  const fs::path tmp =
      parent / ("." + dir.filename().string() + ".tmp-" + std::to_string(::getpid()));
  fs::remove_all(tmp, ec);
  if (!fs::create_directory(tmp, ec)) {
    throw Error(tmp.string() + ": cannot create a temporary folder (" + ec.message() + ")");
  }
  try {
    fill(tmp.string());
    fsync_tree(tmp);
  } catch (const Cancelled&) {
    fs::remove_all(tmp, ec);
    throw;
  } catch (const Error& e) {
    // Name the folder the user asked for first (the temporary path alone reads like a bug).
    fs::remove_all(tmp, ec);
    throw Error(dir.string() + ": not saved, the previous copy is kept: " + e.what());
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
  if (fs::exists(dir)) {
#ifdef RENAME_EXCHANGE
    if (::renameat2(AT_FDCWD, tmp.c_str(), AT_FDCWD, dir.c_str(), RENAME_EXCHANGE) == 0) {
      fsync_path(parent.string());
      fs::remove_all(tmp, ec);  // now the old copy
      return;
    }
#endif
    // No atomic exchange on this file system: keep the old copy until the new one is in place.
    const fs::path old = dir.string() + ".old";
    fs::remove_all(old, ec);
    fs::rename(dir, old, ec);
    if (ec) {
      fs::remove_all(tmp);
      throw Error(dir.string() + ": cannot move the previous checkpoint aside (" + ec.message() +
                  ")");
    }
    fs::rename(tmp, dir, ec);
    if (ec) throw Error(dir.string() + ": cannot rename the new folder in (" + ec.message() + ")");
    fsync_path(parent.string());
    fs::remove_all(old, ec);
    return;
  }
  fs::rename(tmp, dir, ec);
  if (ec) {
    fs::remove_all(tmp);
    throw Error(dir.string() + ": cannot rename the new folder in (" + ec.message() + ")");
  }
  fsync_path(parent.string());
}

std::string find_complete_folder(const std::string& dir) {
  if (fs::is_directory(dir)) return dir;
  if (fs::is_directory(dir + ".old")) return dir + ".old";
  return {};
}

void write_text_file_atomically(const std::string& path, const std::string& text) {
  write_file_atomically(path, text.data(), text.size());
}

}  // namespace papillon
