#include "core/runtime/app_paths.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>

#include "papillon/build_config.h"

namespace papillon {

QString bundled_model_dir() {
  QStringList candidates;
  const QString env = qEnvironmentVariable("PAPILLON_BUNDLED_MODEL");
  if (!env.isEmpty()) candidates << env;
  if (QCoreApplication::instance()) {
    candidates << QCoreApplication::applicationDirPath() +
                      QStringLiteral("/../share/papillon/models/fashion-mnist");
  }
  candidates << QStringLiteral(PAPILLON_SOURCE_DIR) +
                    QStringLiteral("/resources/models/fashion-mnist");
  for (const QString& dir : candidates) {
    if (QFileInfo::exists(dir + QStringLiteral("/model_index.json"))) return QDir::cleanPath(dir);
  }
  return {};
}

}  // namespace papillon
