#include "core/runtime/png_io.h"

#include <torch/torch.h>

#include <QBuffer>
#include <QDir>
#include <QFileInfo>
#include <QImageReader>
#include <QImageWriter>
#include <QSaveFile>
#include <cerrno>
#include <cstring>

#include "core/util/error.h"

namespace papillon {

QImage tensor_to_qimage(const at::Tensor& image) {
  if (image.dim() != 3 || (image.size(0) != 1 && image.size(0) != 3)) {
    throw Error("expected a [C, H, W] image with 1 or 3 channels");
  }
  const int c = static_cast<int>(image.size(0));
  const int h = static_cast<int>(image.size(1));
  const int w = static_cast<int>(image.size(2));
  const at::Tensor bytes = (image.detach().to(torch::kCPU, torch::kFloat).clamp(0, 1) * 255)
                               .round()
                               .to(torch::kUInt8)
                               .permute({1, 2, 0})
                               .contiguous();
  QImage out(w, h, c == 1 ? QImage::Format_Grayscale8 : QImage::Format_RGB888);
  const auto* src = bytes.data_ptr<uint8_t>();
  for (int y = 0; y < h; ++y) {
    std::memcpy(out.scanLine(y), src + static_cast<size_t>(y) * w * c, static_cast<size_t>(w) * c);
  }
  return out;
}

at::Tensor qimage_to_tensor(const QImage& image, bool grayscale) {
  const QImage converted =
      image.convertToFormat(grayscale ? QImage::Format_Grayscale8 : QImage::Format_RGB888);
  const int c = grayscale ? 1 : 3;
  const int h = converted.height();
  const int w = converted.width();
  at::Tensor out = torch::empty({h, w, c}, torch::kUInt8);
  auto* dst = out.data_ptr<uint8_t>();
  for (int y = 0; y < h; ++y) {
    std::memcpy(dst + static_cast<size_t>(y) * w * c, converted.constScanLine(y),
                static_cast<size_t>(w) * c);
  }
  return out.permute({2, 0, 1}).to(torch::kFloat).div(255.0).contiguous();
}

QImage scale_nearest(const QImage& image, int factor) {
  if (factor <= 1) return image;
  return image.scaled(image.width() * factor, image.height() * factor, Qt::IgnoreAspectRatio,
                      Qt::FastTransformation);
}

void save_png(const std::string& path, const QImage& image,
              const std::map<std::string, std::string>& text) {
  QImage tagged = image;
  for (const auto& [key, value] : text) {
    tagged.setText(QString::fromStdString(key), QString::fromStdString(value));
  }
  // Encode in memory first: the PNG writer reports a failed write only as "Unknown error", the
  // file's own write says why (no space left on device, file too large, ...).
  QByteArray bytes;
  {
    QBuffer buffer(&bytes);
    buffer.open(QIODevice::WriteOnly);
    QImageWriter writer(&buffer, "png");
    if (!writer.write(tagged)) {
      throw Error(path + ": cannot encode PNG: " + writer.errorString().toStdString());
    }
  }
  // A missing output folder is made (papillon-cli generate --out runs/today/grid.png); a folder
  // that cannot be made shows in the open error below.
  const QFileInfo target(QString::fromStdString(path));
  if (!target.dir().exists()) QDir().mkpath(target.dir().absolutePath());
  QSaveFile file(QString::fromStdString(path));
  if (!file.open(QIODevice::WriteOnly)) {
    throw Error(path + ": cannot write: " + file.errorString().toStdString());
  }
  errno = 0;
  if (file.write(bytes) != bytes.size() || !file.flush()) {
    // QFileDevice keeps errno's text only for some errors ("Unknown error" for EFBIG / ENOSPC).
    const int saved = errno;
    const std::string reason = saved != 0 ? std::strerror(saved) : file.errorString().toStdString();
    file.cancelWriting();
    throw Error(path + ": cannot write PNG: " + reason);
  }
  if (!file.commit()) {
    throw Error(path + ": cannot save: " + file.errorString().toStdString());
  }
}

std::map<std::string, std::string> read_png_text(const std::string& path) {
  // QImageReader::text() returns whitespace-simplified values (newlines become spaces); the decoded
  // QImage keeps each chunk verbatim.
  QImageReader reader(QString::fromStdString(path));
  QImage image;
  if (!reader.read(&image)) {
    throw Error(path + ": not a readable image: " + reader.errorString().toStdString());
  }
  std::map<std::string, std::string> out;
  for (const QString& key : image.textKeys()) {
    out[key.toStdString()] = image.text(key).toStdString();
  }
  return out;
}

}  // namespace papillon
