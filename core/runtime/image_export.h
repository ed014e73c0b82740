#pragma once
// Saving what the window shows: single images and grids as PNG with the generation parameters
// (an AUTOMATIC1111 "parameters" chunk and a "papillon" JSON chunk), written atomically.
#include <QImage>
#include <QList>
#include <QString>

namespace papillon {

// parametersJson: GenerationParameters::to_json() as text (as GenerationWorker::imageFinished
// gives it). Throws papillon::Error naming the file on failure.
void save_image_with_parameters(const QString& path, const QImage& image,
                                const QString& parametersJson);

// Images in rows of `columns` with `padding` black pixels around and between them (as
// torchvision's make_grid); images of other sizes are scaled to the first one's size.
QImage make_image_grid(const QList<QImage>& images, int columns, int padding = 2);

// A grid of the images, with the first image's parameters and every image's seed.
void save_grid_with_parameters(const QString& path, const QList<QImage>& images,
                               const QList<QString>& parametersJson, int columns, int padding = 2);

}  // namespace papillon
