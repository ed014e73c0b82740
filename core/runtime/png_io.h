#pragma once
// Tensors to QImage and PNG files with text chunks (the generation parameters), written atomically.
#include <ATen/core/Tensor.h>
#include <QImage>
#include <QString>

#include <map>
#include <string>

namespace papillon {

// [C, H, W] float in [0, 1] (C = 1 or 3) -> Grayscale8 / RGB888, rounding as diffusers'
// numpy_to_pil: (x * 255).round().
QImage tensor_to_qimage(const at::Tensor& image);
// The inverse, for reading images back: [C, H, W] float in [0, 1].
at::Tensor qimage_to_tensor(const QImage& image, bool grayscale = false);

// Scales an image by an integer factor with nearest-neighbour (pixel art stays crisp).
QImage scale_nearest(const QImage& image, int factor);

// Writes a PNG with tEXt/iTXt chunks atomically (QSaveFile: temp file + rename), so a crash or a
// full disk leaves the previous file intact. Missing parent folders are created. Throws
// papillon::Error with the reason on failure.
void save_png(const std::string& path, const QImage& image,
              const std::map<std::string, std::string>& text = {});

// The text chunks of a PNG (empty map when it has none). Throws Error if the file is not an image.
std::map<std::string, std::string> read_png_text(const std::string& path);

}  // namespace papillon
