#include "core/runtime/image_export.h"

#include <QPainter>
#include <map>
#include <string>

#include "core/pipelines/generation_parameters.h"
#include "core/runtime/png_io.h"
#include "core/util/error.h"

namespace papillon {
namespace {

std::map<std::string, std::string> chunks_for(const Json& json) {
  if (json.is_null() || json.empty()) return {};
  const GenerationParameters p = GenerationParameters::from_json(json);
  return {{"parameters", p.to_a1111()}, {"papillon", json.dump()}};
}

Json parse(const QString& text) {
  if (text.isEmpty()) return Json::object();
  try {
    return Json::parse(text.toStdString());
  } catch (const std::exception& e) {
    throw Error(std::string("invalid image parameters: ") + e.what());
  }
}

}  // namespace

void save_image_with_parameters(const QString& path, const QImage& image,
                                const QString& parametersJson) {
  if (image.isNull()) throw Error(path.toStdString() + ": there is no image to save yet");
  save_png(path.toStdString(), image, chunks_for(parse(parametersJson)));
}

QImage make_image_grid(const QList<QImage>& images, int columns, int padding) {
  if (images.isEmpty()) return {};
  const int n = static_cast<int>(images.size());
  columns = std::max(1, std::min(columns, n));
  const int rows = (n + columns - 1) / columns;
  const QSize cell = images.front().size();
  QImage grid(columns * cell.width() + (columns + 1) * padding,
              rows * cell.height() + (rows + 1) * padding, QImage::Format_RGB888);
  grid.fill(Qt::black);
  QPainter painter(&grid);
  for (int i = 0; i < n; ++i) {
    const int x = padding + (i % columns) * (cell.width() + padding);
    const int y = padding + (i / columns) * (cell.height() + padding);
    const QImage& image = images[i];
    painter.drawImage(QRect(QPoint(x, y), cell),
                      image.size() == cell ? image : image.scaled(cell, Qt::IgnoreAspectRatio));
  }
  return grid;
}

void save_grid_with_parameters(const QString& path, const QList<QImage>& images,
                               const QList<QString>& parametersJson, int columns, int padding) {
  for (const QImage& image : images) {
    if (image.isNull()) throw Error(path.toStdString() + ": an image of the grid is not ready yet");
  }
  const QImage grid = make_image_grid(images, columns, padding);
  if (grid.isNull()) throw Error(path.toStdString() + ": there are no images to save");
  Json json = parametersJson.isEmpty() ? Json::object() : parse(parametersJson.front());
  Json seeds = Json::array();
  for (const QString& p : parametersJson) {
    const Json j = parse(p);
    if (j.contains("seed")) seeds.push_back(j["seed"]);
  }
  if (!json.empty()) {
    json["grid_seeds"] = seeds;
    json["grid_columns"] = columns;
  }
  save_png(path.toStdString(), grid, chunks_for(json));
}

}  // namespace papillon
