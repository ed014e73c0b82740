// papillon: the studio window.
#include <QtQml/qqmlextensionplugin.h>
#include <QCommandLineParser>
#include <QDir>
#include <QFileInfo>
#include <QGuiApplication>
#include <QLocale>
#include <QQmlApplicationEngine>
#include <QQuickStyle>
#include <QSettings>

#include "core/runtime/app_paths.h"
#include "core/util/environment.h"
#include "papillon/build_config.h"
#include "ui/studio_controller.h"

Q_IMPORT_QML_PLUGIN(PapillonPlugin)

int main(int argc, char** argv) {
  papillon::ensure_blas_environment(argc, argv);
  QGuiApplication app(argc, argv);
  QGuiApplication::setOrganizationName(QStringLiteral("Papillon"));
  QGuiApplication::setApplicationName(QStringLiteral("Papillon"));
  QGuiApplication::setApplicationVersion(QStringLiteral(PAPILLON_VERSION));

  QCommandLineParser cli;
  cli.setApplicationDescription(QStringLiteral("Papillon: a studio for diffusion image models"));
  cli.addHelpOption();
  cli.addVersionOption();
  // The model of the last session, else the bundled one.
  QString startup = papillon::bundled_model_dir();
  const QStringList recent = QSettings().value(QStringLiteral("models/recent")).toStringList();
  if (!recent.isEmpty() && QFileInfo::exists(recent.front() + QStringLiteral("/model_index.json")))
    startup = recent.front();
  cli.addOptions({
      {QStringLiteral("model"), QStringLiteral("The diffusers model folder to open."),
       QStringLiteral("DIR"), startup},
      {QStringLiteral("lang"),
       QStringLiteral("The interface language (e.g. zh_CN, en); default: the setting, else the "
                      "system's."),
       QStringLiteral("LOCALE")},
      {QStringLiteral("theme"), QStringLiteral("light, dark or system (default: the setting)."),
       QStringLiteral("THEME")},
      {QStringLiteral("generate"), QStringLiteral("Generate once the model is loaded.")},
      {QStringLiteral("screenshot"),
       QStringLiteral("Save a screenshot of the window after the first job, then quit."),
       QStringLiteral("FILE")},
      {QStringLiteral("page"), QStringLiteral("The page to open: generate or train."),
       QStringLiteral("PAGE"), QStringLiteral("generate")},
      {QStringLiteral("train"), QStringLiteral("Start training with the saved settings.")},
      {QStringLiteral("screenshot-step"),
       QStringLiteral("Take the screenshot when the first job reaches this step instead."),
       QStringLiteral("N"), QStringLiteral("0")},
  });
  cli.process(app);

  const QSettings settings;
  papillon::ui::apply_language(cli.isSet(QStringLiteral("lang"))
                                   ? cli.value(QStringLiteral("lang"))
                                   : settings.value(QStringLiteral("ui/language")).toString());
  if (qEnvironmentVariableIsEmpty("QT_QUICK_CONTROLS_STYLE")) {
    QQuickStyle::setStyle(QStringLiteral("Fusion"));  // follows the palette, light or dark
  }

  QQmlApplicationEngine engine;
  engine.addImportPath(QStringLiteral("qrc:/qt/qml"));
  engine.setInitialProperties({
      {QStringLiteral("startupModel"), cli.value(QStringLiteral("model"))},
      {QStringLiteral("autoGenerate"), cli.isSet(QStringLiteral("generate"))},
      {QStringLiteral("screenshotPath"), cli.value(QStringLiteral("screenshot"))},
      {QStringLiteral("screenshotStep"), cli.value(QStringLiteral("screenshot-step")).toInt()},
      {QStringLiteral("startPage"), cli.value(QStringLiteral("page"))},
      {QStringLiteral("autoTrain"), cli.isSet(QStringLiteral("train"))},
      {QStringLiteral("themeOverride"), cli.value(QStringLiteral("theme"))},
  });
  engine.load(QUrl(QStringLiteral("qrc:/qt/qml/Papillon/Main.qml")));
  if (engine.rootObjects().isEmpty()) return 1;
  return QGuiApplication::exec();
}
