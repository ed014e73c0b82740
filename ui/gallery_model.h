#pragma once
// The gallery: one row per image of every job, updated in place as previews and final images
// arrive. The pixels live in a thread-safe GalleryImages store that the "gallery" image provider
// reads; rows carry an image URL with a revision so QML reloads exactly the tiles that changed.
#include <QtQml/qqmlregistration.h>
#include <QAbstractListModel>
#include <QHash>
#include <QImage>
#include <QList>
#include <QMutex>
#include <QSet>
#include <QTimer>

#include <memory>

#include "core/runtime/image_library.h"

namespace papillon::ui {

// Pixels of every tile: the current image and the step timeline (thread-safe: the image provider
// may run on the scene graph's loader thread).
class GalleryImages {
 public:
  static constexpr int kMaxFrames = 200;  // longer runs keep every k-th step

  void setCurrent(int tileId, const QImage& image);
  void addFrame(int tileId, int step, const QImage& image);
  void remove(int tileId);
  void clear();
  QImage current(int tileId) const;
  QImage frame(int tileId, int frame) const;
  int frameCount(int tileId) const;
  int frameStep(int tileId, int frame) const;

 private:
  struct Tile {
    QImage current;
    QList<QImage> frames;
    QList<int> steps;
  };
  mutable QMutex mutex_;
  QHash<int, Tile> tiles_;
};

class GalleryModel : public QAbstractListModel {
  Q_OBJECT
  QML_ELEMENT
  QML_UNCREATABLE("The gallery belongs to StudioController")
  Q_PROPERTY(int count READ rowCount NOTIFY countChanged)
  Q_PROPERTY(int selectedCount READ selectedCount NOTIFY selectionChanged)

 public:
  enum Role {
    TileIdRole = Qt::UserRole + 1,
    JobIdRole,
    ImageIndexRole,
    SourceRole,
    SeedRole,
    StateRole,
    StepRole,
    TotalStepsRole,
    ParametersRole,
    FrameCountRole,
    FilePathRole,
    SelectedRole,
  };
  // How select() changes the selection (mouse: click, Ctrl+click, Shift+click).
  enum SelectMode { SelectOnly = 0, SelectToggle = 1, SelectRange = 2 };
  Q_ENUM(SelectMode)
  Q_ENUM(Role)

  explicit GalleryModel(QObject* parent = nullptr);

  int rowCount(const QModelIndex& parent = QModelIndex()) const override;
  QVariant data(const QModelIndex& index, int role) const override;
  QHash<int, QByteArray> roleNames() const override;

  std::shared_ptr<GalleryImages> images() const { return images_; }

  // Appends `batch` tiles in state "queued"; image i shows seed + i.
  void addJob(int jobId, int batch, quint64 seed, int totalSteps);
  void setJobState(int jobId, const QString& state, int totalSteps = -1);
  void setPreview(int jobId, int imageIndex, int step, const QImage& image);
  void setFinal(int jobId, int imageIndex, const QImage& image, const QString& parametersJson);
  void removeJob(int jobId);
  // A finished image from the library (state "done", no timeline).
  void addStored(const papillon::LibraryImage& item);
  void setFilePath(int jobId, int imageIndex, const QString& path);
  void removeRowsAt(QList<int> rows);
  // Moves rows [first, first + count) after every other row.
  void moveRowsToEnd(int first, int count);
  Q_INVOKABLE void clear();

  // Selection (independent of the current item that shows the timeline).
  Q_INVOKABLE void select(int row, int mode = SelectOnly);
  Q_INVOKABLE void selectAll();
  Q_INVOKABLE void clearSelection();
  Q_INVOKABLE bool isSelected(int row) const;
  int selectedCount() const;
  QList<int> selectedRows() const;

  Q_INVOKABLE QString frameSource(int row, int frame) const;
  Q_INVOKABLE int frameStep(int row, int frame) const;
  Q_INVOKABLE QVariantMap get(int row) const;
  QImage image(int row) const;
  QString parameters(int row) const;
  QString filePath(int row) const;
  QString state(int row) const;
  quint64 seed(int row) const;
  // Up to `count` frames of the row's step timeline, evenly spaced, the last one included.
  QList<QImage> timeline(int row, int count) const;
  QList<int> rowsOfJob(int jobId) const;

 Q_SIGNALS:
  void countChanged();
  void selectionChanged();

 private:
  struct Row {
    int tileId = 0;
    int jobId = 0;
    int imageIndex = 0;
    quint64 seed = 0;
    QString state;
    int step = 0;
    int totalSteps = 0;
    QString parameters;
    QString filePath;  // the image's file in the library once stored
    bool selected = false;
    int revision = 0;
  };
  int rowOf(int jobId, int imageIndex) const;
  void markDirty(int row);
  void flushDirty();

  QList<Row> rows_;
  std::shared_ptr<GalleryImages> images_ = std::make_shared<GalleryImages>();
  int nextTileId_ = 1;
  int anchorRow_ = -1;  // where a range selection starts
  QSet<int> dirty_;
  QTimer flushTimer_;  // coalesces per-step updates to ~10 repaints a second
};

}  // namespace papillon::ui
