#pragma once
// Where the application finds what it ships: the bundled model.
#include <QString>

namespace papillon {

// The bundled Fashion-MNIST model: $PAPILLON_BUNDLED_MODEL, else <app>/../share/papillon/models/
// fashion-mnist (an installed tree), else the source tree's resources/models/fashion-mnist.
// Empty when none exists.
QString bundled_model_dir();

}  // namespace papillon
