#include "ui/gallery_model.h"

#include <algorithm>
#include <cmath>

#include <QMutexLocker>

namespace papillon::ui {

void GalleryImages::setCurrent(int tileId, const QImage& image) {
  QMutexLocker lock(&mutex_);
  tiles_[tileId].current = image;
}

void GalleryImages::addFrame(int tileId, int step, const QImage& image) {
  QMutexLocker lock(&mutex_);
  Tile& tile = tiles_[tileId];
  tile.frames.append(image);
  tile.steps.append(step);
  if (tile.frames.size() > kMaxFrames) {  // keep every other frame, and always the newest
    QList<QImage> frames;
    QList<int> steps;
    for (qsizetype i = 0; i < tile.frames.size(); i += 2) {
      frames.append(tile.frames[i]);
      steps.append(tile.steps[i]);
    }
    if (steps.back() != step) {
      frames.append(image);
      steps.append(step);
    }
    tile.frames = frames;
    tile.steps = steps;
  }
}

void GalleryImages::remove(int tileId) {
  QMutexLocker lock(&mutex_);
  tiles_.remove(tileId);
}

void GalleryImages::clear() {
  QMutexLocker lock(&mutex_);
  tiles_.clear();
}

QImage GalleryImages::current(int tileId) const {
  QMutexLocker lock(&mutex_);
  return tiles_.value(tileId).current;
}

QImage GalleryImages::frame(int tileId, int frame) const {
  QMutexLocker lock(&mutex_);
  const auto it = tiles_.constFind(tileId);
  if (it == tiles_.cend() || frame < 0 || frame >= it->frames.size()) return {};
  return it->frames[frame];
}

int GalleryImages::frameCount(int tileId) const {
  QMutexLocker lock(&mutex_);
  const auto it = tiles_.constFind(tileId);
  return it == tiles_.cend() ? 0 : static_cast<int>(it->frames.size());
}

int GalleryImages::frameStep(int tileId, int frame) const {
  QMutexLocker lock(&mutex_);
  const auto it = tiles_.constFind(tileId);
  if (it == tiles_.cend() || frame < 0 || frame >= it->steps.size()) return 0;
  return it->steps[frame];
}

GalleryModel::GalleryModel(QObject* parent) : QAbstractListModel(parent) {
  flushTimer_.setSingleShot(true);
  flushTimer_.setInterval(100);
  connect(&flushTimer_, &QTimer::timeout, this, &GalleryModel::flushDirty);
}

int GalleryModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() ? 0 : static_cast<int>(rows_.size());
}

QVariant GalleryModel::data(const QModelIndex& index, int role) const {
  if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) {
    return {};
  }
  const Row& r = rows_[index.row()];
  switch (role) {
    case TileIdRole:
      return r.tileId;
    case JobIdRole:
      return r.jobId;
    case ImageIndexRole:
      return r.imageIndex;
    case SourceRole:
      return r.revision == 0
                 ? QString()
                 : QStringLiteral("image://gallery/%1/%2").arg(r.tileId).arg(r.revision);
    case SeedRole:
      return QString::number(r.seed);  // a string: seeds can exceed a JavaScript int
    case StateRole:
      return r.state;
    case StepRole:
      return r.step;
    case TotalStepsRole:
      return r.totalSteps;
    case ParametersRole:
      return r.parameters;
    case FrameCountRole:
      return images_->frameCount(r.tileId);
    case FilePathRole:
      return r.filePath;
    case SelectedRole:
      return r.selected;
    default:
      return {};
  }
}

QHash<int, QByteArray> GalleryModel::roleNames() const {
  return {{TileIdRole, "tileId"},
          {JobIdRole, "jobId"},
          {ImageIndexRole, "imageIndex"},
          {SourceRole, "source"},
          {SeedRole, "seed"},
          {StateRole, "tileState"},
          {StepRole, "step"},
          {TotalStepsRole, "totalSteps"},
          {ParametersRole, "parameters"},
          {FrameCountRole, "frameCount"},
          {FilePathRole, "filePath"},
          {SelectedRole, "selected"}};
}

void GalleryModel::addJob(int jobId, int batch, quint64 seed, int totalSteps) {
  if (batch <= 0) return;
  const int first = static_cast<int>(rows_.size());
  beginInsertRows(QModelIndex(), first, first + batch - 1);
  for (int i = 0; i < batch; ++i) {
    Row r;
    r.tileId = nextTileId_++;
    r.jobId = jobId;
    r.imageIndex = i;
    r.seed = seed + static_cast<quint64>(i);
    r.state = QStringLiteral("queued");
    r.totalSteps = totalSteps;
    rows_.append(r);
  }
  endInsertRows();
  Q_EMIT countChanged();
}

void GalleryModel::setJobState(int jobId, const QString& state, int totalSteps) {
  for (int row : rowsOfJob(jobId)) {
    Row& r = rows_[row];
    if (r.state == QLatin1String("done")) continue;
    r.state = state;
    if (totalSteps >= 0) r.totalSteps = totalSteps;
    markDirty(row);
  }
  flushDirty();  // state changes show at once
}

void GalleryModel::setPreview(int jobId, int imageIndex, int step, const QImage& image) {
  const int row = rowOf(jobId, imageIndex);
  if (row < 0) return;
  Row& r = rows_[row];
  images_->setCurrent(r.tileId, image);
  images_->addFrame(r.tileId, step, image);
  r.step = step;
  r.state = QStringLiteral("running");
  ++r.revision;
  markDirty(row);
}

void GalleryModel::setFinal(int jobId, int imageIndex, const QImage& image,
                            const QString& parametersJson) {
  const int row = rowOf(jobId, imageIndex);
  if (row < 0) return;
  Row& r = rows_[row];
  images_->setCurrent(r.tileId, image);
  r.state = QStringLiteral("done");
  r.step = r.totalSteps;
  r.parameters = parametersJson;
  ++r.revision;
  markDirty(row);
  flushDirty();
}

void GalleryModel::removeJob(int jobId) {
  removeRowsAt(rowsOfJob(jobId));
}

void GalleryModel::removeRowsAt(QList<int> rows) {
  std::sort(rows.begin(), rows.end());
  rows.erase(std::unique(rows.begin(), rows.end()), rows.end());
  bool selection = false;
  for (auto it = rows.crbegin(); it != rows.crend(); ++it) {
    if (*it < 0 || *it >= rows_.size()) continue;
    beginRemoveRows(QModelIndex(), *it, *it);
    selection = selection || rows_[*it].selected;
    images_->remove(rows_[*it].tileId);
    rows_.removeAt(*it);
    endRemoveRows();
  }
  flushDirty();
  dirty_.clear();
  anchorRow_ = -1;
  if (!rows.isEmpty()) Q_EMIT countChanged();
  if (selection) Q_EMIT selectionChanged();
}

void GalleryModel::moveRowsToEnd(int first, int count) {
  const int n = static_cast<int>(rows_.size());
  if (first < 0 || count <= 0 || first + count >= n) return;
  flushDirty();
  beginMoveRows(QModelIndex(), first, first + count - 1, QModelIndex(), n);
  const QList<Row> moved = rows_.mid(first, count);
  rows_.remove(first, count);
  rows_.append(moved);
  endMoveRows();
  anchorRow_ = -1;
}

void GalleryModel::addStored(const papillon::LibraryImage& item) {
  const int row = static_cast<int>(rows_.size());
  beginInsertRows(QModelIndex(), row, row);
  Row r;
  r.tileId = nextTileId_++;
  r.jobId = 0;
  r.imageIndex = r.tileId;
  r.seed = item.seed;
  r.state = QStringLiteral("done");
  r.parameters = item.parameters_json;
  r.filePath = item.path;
  r.revision = 1;
  images_->setCurrent(r.tileId, item.image);
  rows_.append(r);
  endInsertRows();
  Q_EMIT countChanged();
}

void GalleryModel::setFilePath(int jobId, int imageIndex, const QString& path) {
  const int row = rowOf(jobId, imageIndex);
  if (row < 0) return;
  rows_[row].filePath = path;
  const QModelIndex i = index(row);
  Q_EMIT dataChanged(i, i, {FilePathRole});
}

void GalleryModel::clear() {
  beginResetModel();
  rows_.clear();
  images_->clear();
  dirty_.clear();
  anchorRow_ = -1;
  endResetModel();
  Q_EMIT countChanged();
  Q_EMIT selectionChanged();
}

void GalleryModel::select(int row, int mode) {
  if (row < 0 || row >= rows_.size()) return;
  QList<bool> next(rows_.size(), false);
  if (mode == SelectToggle) {
    for (int i = 0; i < rows_.size(); ++i)
      next[i] = rows_[i].selected;
    next[row] = !rows_[row].selected;
    anchorRow_ = row;
  } else if (mode == SelectRange && anchorRow_ >= 0 && anchorRow_ < rows_.size()) {
    for (int i = std::min(anchorRow_, row); i <= std::max(anchorRow_, row); ++i)
      next[i] = true;
  } else {
    next[row] = true;
    anchorRow_ = row;
  }
  bool changed = false;
  for (int i = 0; i < rows_.size(); ++i) {
    if (rows_[i].selected == next[i]) continue;
    rows_[i].selected = next[i];
    const QModelIndex index_ = index(i);
    Q_EMIT dataChanged(index_, index_, {SelectedRole});
    changed = true;
  }
  if (changed) Q_EMIT selectionChanged();
}

void GalleryModel::selectAll() {
  bool changed = false;
  for (int i = 0; i < rows_.size(); ++i) {
    if (rows_[i].selected) continue;
    rows_[i].selected = true;
    changed = true;
  }
  if (!changed) return;
  Q_EMIT dataChanged(index(0), index(static_cast<int>(rows_.size()) - 1), {SelectedRole});
  Q_EMIT selectionChanged();
}

void GalleryModel::clearSelection() {
  bool changed = false;
  for (int i = 0; i < rows_.size(); ++i) {
    if (!rows_[i].selected) continue;
    rows_[i].selected = false;
    const QModelIndex index_ = index(i);
    Q_EMIT dataChanged(index_, index_, {SelectedRole});
    changed = true;
  }
  if (changed) Q_EMIT selectionChanged();
}

bool GalleryModel::isSelected(int row) const {
  return row >= 0 && row < rows_.size() && rows_[row].selected;
}

int GalleryModel::selectedCount() const {
  return static_cast<int>(
      std::count_if(rows_.cbegin(), rows_.cend(), [](const Row& r) { return r.selected; }));
}

QList<int> GalleryModel::selectedRows() const {
  QList<int> rows;
  for (int i = 0; i < rows_.size(); ++i) {
    if (rows_[i].selected) rows.append(i);
  }
  return rows;
}

QString GalleryModel::frameSource(int row, int frame) const {
  if (row < 0 || row >= rows_.size()) return {};
  return QStringLiteral("image://gallery/%1/frame/%2").arg(rows_[row].tileId).arg(frame);
}

int GalleryModel::frameStep(int row, int frame) const {
  if (row < 0 || row >= rows_.size()) return 0;
  return images_->frameStep(rows_[row].tileId, frame);
}

QVariantMap GalleryModel::get(int row) const {
  QVariantMap map;
  if (row < 0 || row >= rows_.size()) return map;
  const QHash<int, QByteArray> names = roleNames();
  for (auto it = names.cbegin(); it != names.cend(); ++it) {
    map.insert(QString::fromLatin1(it.value()), data(index(row), it.key()));
  }
  return map;
}

QImage GalleryModel::image(int row) const {
  if (row < 0 || row >= rows_.size()) return {};
  return images_->current(rows_[row].tileId);
}

QString GalleryModel::parameters(int row) const {
  return row < 0 || row >= rows_.size() ? QString() : rows_[row].parameters;
}

QString GalleryModel::filePath(int row) const {
  return row < 0 || row >= rows_.size() ? QString() : rows_[row].filePath;
}

QString GalleryModel::state(int row) const {
  return row < 0 || row >= rows_.size() ? QString() : rows_[row].state;
}

QList<QImage> GalleryModel::timeline(int row, int count) const {
  QList<QImage> frames;
  if (row < 0 || row >= rows_.size() || count <= 0) return frames;
  const int tile = rows_[row].tileId;
  const int n = images_->frameCount(tile);
  if (n == 0) return frames;
  count = std::min(count, n);
  for (int k = 0; k < count; ++k) {
    // Evenly spaced over the run, always ending on the last frame.
    const int frame =
        count == 1 ? n - 1
                   : static_cast<int>(std::lround(static_cast<double>(k) * (n - 1) / (count - 1)));
    frames.append(images_->frame(tile, frame));
  }
  return frames;
}

quint64 GalleryModel::seed(int row) const {
  return row < 0 || row >= rows_.size() ? 0 : rows_[row].seed;
}

QList<int> GalleryModel::rowsOfJob(int jobId) const {
  QList<int> rows;
  for (int i = 0; i < rows_.size(); ++i) {
    if (rows_[i].jobId == jobId) rows.append(i);
  }
  return rows;
}

int GalleryModel::rowOf(int jobId, int imageIndex) const {
  for (int i = 0; i < rows_.size(); ++i) {
    if (rows_[i].jobId == jobId && rows_[i].imageIndex == imageIndex) return i;
  }
  return -1;
}

void GalleryModel::markDirty(int row) {
  dirty_.insert(row);
  if (!flushTimer_.isActive()) flushTimer_.start();
}

void GalleryModel::flushDirty() {
  flushTimer_.stop();
  const QList<int> rows(dirty_.cbegin(), dirty_.cend());
  dirty_.clear();
  for (int row : rows) {
    if (row < rows_.size()) {
      const QModelIndex i = index(row);
      Q_EMIT dataChanged(
          i, i, {SourceRole, StateRole, StepRole, TotalStepsRole, ParametersRole, FrameCountRole});
    }
  }
}

}  // namespace papillon::ui
