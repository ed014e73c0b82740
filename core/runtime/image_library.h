#pragma once
// The image library: every finished image is kept as a PNG (with its generation parameters) in a
// folder, so the gallery comes back after a restart. Also: reading the parameters back from any
// PNG that Papillon or AUTOMATIC1111 wrote (drop a PNG on the window to reuse them).
#include <QDateTime>
#include <QImage>
#include <QList>
#include <QString>

namespace papillon {

struct LibraryImage {
  QString path;
  QImage image;
  QString parameters_json;  // GenerationParameters::to_json() text, or empty
  quint64 seed = 0;
  QDateTime time;
};

class ImageLibrary {
 public:
  // <Pictures>/Papillon (or the app data folder where there is no Pictures folder).
  static QString default_folder();

  explicit ImageLibrary(QString folder) : folder_(std::move(folder)) {}
  const QString& folder() const { return folder_; }

  // Writes the image atomically under a new, unique name (<time>-<seed>.png) and returns its path.
  // Throws papillon::Error naming the file when the folder cannot be created or written.
  QString store(const QImage& image, const QString& parametersJson) const;
  // The `limit` newest PNGs of the folder (by modification time), oldest first; files that are
  // not readable images are skipped. A missing folder gives an empty list.
  QList<LibraryImage> load_recent(int limit) const;
  // Moves a file to the trash where the platform has one, else deletes it. False on failure.
  static bool remove(const QString& path);

 private:
  QString folder_;
};

// The generation parameters a PNG carries, as GenerationParameters JSON text: Papillon's
// "papillon" chunk, else AUTOMATIC1111's "parameters" chunk parsed; empty when it has neither.
// Throws papillon::Error when the file is not a readable image.
QString parameters_from_png(const QString& path);

// A name for `stem` in `folder` that no file has yet: stem.png, stem-2.png, ...
QString unique_png_path(const QString& folder, const QString& stem);

}  // namespace papillon
