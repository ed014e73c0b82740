#include "core/runtime/image_library.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QImageReader>
#include <QStandardPaths>
#include <algorithm>

#include "core/pipelines/generation_parameters.h"
#include "core/runtime/image_export.h"
#include "core/runtime/png_io.h"
#include "core/util/error.h"

namespace papillon {

QString ImageLibrary::default_folder() {
  QString base = QStandardPaths::writableLocation(QStandardPaths::PicturesLocation);
  if (base.isEmpty()) base = QStandardPaths::writableLocation(QStandardPaths::AppDataLocation);
  return QDir(base).filePath(QStringLiteral("Papillon"));
}

QString unique_png_path(const QString& folder, const QString& stem) {
  const QDir dir(folder);
  QString path = dir.filePath(stem + QStringLiteral(".png"));
  for (int n = 2; QFileInfo::exists(path); ++n)
    path = dir.filePath(QStringLiteral("%1-%2.png").arg(stem).arg(n));
  return path;
}

QString ImageLibrary::store(const QImage& image, const QString& parametersJson) const {
  if (!QDir().mkpath(folder_)) {
    throw Error(folder_.toStdString() + ": cannot create the image library folder");
  }
  quint64 seed = 0;
  if (!parametersJson.isEmpty()) {
    try {
      seed = GenerationParameters::from_json(Json::parse(parametersJson.toStdString())).seed;
    } catch (const std::exception&) {
      // The name just has no seed.
    }
  }
  const QString stem =
      QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-HHmmss-zzz")) +
      QStringLiteral("-%1").arg(seed);
  const QString path = unique_png_path(folder_, stem);
  save_image_with_parameters(path, image, parametersJson);
  return path;
}

QList<LibraryImage> ImageLibrary::load_recent(int limit) const {
  QList<LibraryImage> out;
  const QDir dir(folder_);
  if (limit <= 0 || !dir.exists()) return out;
  QFileInfoList files = dir.entryInfoList({QStringLiteral("*.png"), QStringLiteral("*.PNG")},
                                          QDir::Files | QDir::Readable, QDir::NoSort);
  // Oldest first; images stored in the same millisecond keep their names' order (our names start
  // with the time they were made).
  std::stable_sort(files.begin(), files.end(), [](const QFileInfo& a, const QFileInfo& b) {
    const qint64 ta = a.lastModified().toMSecsSinceEpoch();
    const qint64 tb = b.lastModified().toMSecsSinceEpoch();
    return ta != tb ? ta < tb : a.fileName() < b.fileName();
  });
  if (files.size() > limit) files.erase(files.begin(), files.end() - limit);
  for (const QFileInfo& info : files) {
    LibraryImage item;
    item.path = info.absoluteFilePath();
    item.time = info.lastModified();
    QImageReader reader(item.path);
    item.image = reader.read();
    if (item.image.isNull()) continue;
    // QImageReader::text() simplifies whitespace; QImage::text keeps the chunk as written.
    const QString json = item.image.text(QStringLiteral("papillon"));
    const QString a1111 = item.image.text(QStringLiteral("parameters"));
    try {
      if (!json.isEmpty()) {
        const Json parsed = Json::parse(json.toStdString());
        item.parameters_json = QString::fromStdString(parsed.dump());
        item.seed = GenerationParameters::from_json(parsed).seed;
      } else if (!a1111.isEmpty()) {
        const GenerationParameters p = GenerationParameters::from_a1111(a1111.toStdString());
        item.parameters_json = QString::fromStdString(p.to_json().dump());
        item.seed = p.seed;
      }
    } catch (const std::exception&) {
      item.parameters_json.clear();  // an image without usable parameters is still an image
    }
    out.append(item);
  }
  return out;
}

bool ImageLibrary::remove(const QString& path) {
  if (!QFileInfo::exists(path)) return true;
  QFile file(path);
  return file.moveToTrash() || QFile::remove(path);
}

QString parameters_from_png(const QString& path) {
  QImageReader reader(path);
  const QImage image = reader.read();
  if (image.isNull()) {
    throw Error(path.toStdString() + ": not a readable image (" +
                reader.errorString().toStdString() + ")");
  }
  const QString json = image.text(QStringLiteral("papillon"));
  if (!json.isEmpty()) {
    try {
      return QString::fromStdString(
          GenerationParameters::from_json(Json::parse(json.toStdString())).to_json().dump());
    } catch (const std::exception& e) {
      throw Error(path.toStdString() + ": its Papillon parameters are damaged (" + e.what() + ")");
    }
  }
  const QString a1111 = image.text(QStringLiteral("parameters"));
  if (a1111.isEmpty()) return {};
  return QString::fromStdString(
      GenerationParameters::from_a1111(a1111.toStdString()).to_json().dump());
}

}  // namespace papillon
