#include "ui/gallery_image_provider.h"

namespace papillon::ui {

GalleryImageProvider::GalleryImageProvider(std::shared_ptr<GalleryImages> images)
    : QQuickImageProvider(QQuickImageProvider::Image), images_(std::move(images)) {}

QImage GalleryImageProvider::requestImage(const QString& id, QSize* size,
                                          const QSize& requestedSize) {
  const QStringList parts = id.split(QLatin1Char('/'));
  const int tile = parts.value(0).toInt();
  QImage image = parts.size() == 3 && parts[1] == QLatin1String("frame")
                     ? images_->frame(tile, parts[2].toInt())
                     : images_->current(tile);
  if (image.isNull()) {
    image = QImage(1, 1, QImage::Format_ARGB32);
    image.fill(Qt::transparent);
  }
  if (size) *size = image.size();
  if (requestedSize.isValid() && !requestedSize.isEmpty()) {
    image = image.scaled(requestedSize, Qt::KeepAspectRatio, Qt::FastTransformation);
  }
  return image;
}

}  // namespace papillon::ui
