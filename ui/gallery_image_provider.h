#pragma once
// image://gallery/<tile>/<revision> (the tile's current image) and
// image://gallery/<tile>/frame/<k> (the k-th frame of its step timeline).
#include <QQuickImageProvider>

#include <memory>

#include "ui/gallery_model.h"

namespace papillon::ui {

class GalleryImageProvider : public QQuickImageProvider {
 public:
  explicit GalleryImageProvider(std::shared_ptr<GalleryImages> images);
  QImage requestImage(const QString& id, QSize* size, const QSize& requestedSize) override;

 private:
  std::shared_ptr<GalleryImages> images_;
};

}  // namespace papillon::ui
