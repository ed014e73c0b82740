#pragma once
// What the CLI and the window share to train: opening the data a user names, and writing the
// sample grids of a run next to its checkpoint.
#include <ATen/core/Tensor.h>

#include <cstdint>
#include <memory>
#include <string>

namespace papillon {

class Dataset;

// "fashion-mnist" (the Debian package's idx files), "fashion-mnist:DIR", or a folder of images
// (searched recursively; unreadable files are skipped and counted, see ImageFolderDataset).
// Throws papillon::Error naming the folder when there is nothing to train on.
std::shared_ptr<const Dataset> open_training_dataset(const std::string& data, int64_t resolution,
                                                     bool grayscale);

// How many files an image-folder dataset skipped (0 for other datasets).
size_t skipped_file_count(const Dataset& dataset);

// Writes <out_dir>/samples/step-NNNNNN.png and samples/latest.png (atomically, scaled 2x
// nearest) and returns the latest file's path. grid: [C, H, W] in [0, 1].
std::string save_sample_grid(const std::string& out_dir, int64_t step, const at::Tensor& grid);

}  // namespace papillon
