#pragma once
// Writing a folder atomically: everything goes into a temporary sibling folder which is then
// swapped in with one rename, so readers (and a process killed at any moment) see either the old
// complete folder or the new complete one.
#include <functional>
#include <string>

namespace papillon {

// Calls fill(tmp_dir) on a fresh temporary folder beside `dir`, fsyncs it, then replaces `dir`
// with it (Linux renameat2 RENAME_EXCHANGE when `dir` exists, else rename) and removes the old
// copy. If fill throws, `dir` is untouched and the temporary folder is removed.
void write_folder_atomically(const std::string& dir,
                             const std::function<void(const std::string& tmp_dir)>& fill);

// `dir` if it is complete; after a kill between the two renames of the fallback path, the
// previous copy (<dir>.old). Empty when neither exists.
std::string find_complete_folder(const std::string& dir);

// Writes JSON text atomically (temp + fsync + rename).
void write_text_file_atomically(const std::string& path, const std::string& text);

}  // namespace papillon
