// papillon: the studio window.
#include <QtQml/qqmlextensionplugin.h>
#include <QCommandLineParser>
#include <QDir>
#include <QGuiApplication>
#include <QLocale>
#include <QQmlApplicationEngine>
#include <QQuickStyle>
#include <QTranslator>

#include "core/util/environment.h"
#include "papillon/build_config.h"

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
  const QString bundled =
      QDir::cleanPath(QStringLiteral(PAPILLON_SOURCE_DIR) +
                      QStringLiteral("/../shared/fixtures/pipelines/ddpm_tiny"));
  cli.addOptions({
      {QStringLiteral("model"), QStringLiteral("The diffusers model folder to open."),
       QStringLiteral("DIR"), bundled},
      {QStringLiteral("lang"), QStringLiteral("The interface language (e.g. zh_CN)."),
       QStringLiteral("LOCALE"), QLocale::system().name()},
      {QStringLiteral("generate"), QStringLiteral("Generate once the model is loaded.")},
      {QStringLiteral("screenshot"),
       QStringLiteral("Save a screenshot of the window after the first job, then quit."),
       QStringLiteral("FILE")},
      {QStringLiteral("screenshot-step"),
       QStringLiteral("Take the screenshot when the first job reaches this step instead."),
       QStringLiteral("N"), QStringLiteral("0")},
  });
  cli.process(app);

  QTranslator translator;
  if (translator.load(QLocale(cli.value(QStringLiteral("lang"))), QStringLiteral("papillon"),
                      QStringLiteral("_"), QStringLiteral(":/i18n"))) {
    QGuiApplication::installTranslator(&translator);
  }
  if (qEnvironmentVariableIsEmpty("QT_QUICK_CONTROLS_STYLE")) {
    QQuickStyle::setStyle(QStringLiteral("Fusion"));  // follows the system palette, light or dark
  }

  QQmlApplicationEngine engine;
  engine.addImportPath(QStringLiteral("qrc:/qt/qml"));
  engine.setInitialProperties({
      {QStringLiteral("startupModel"), cli.value(QStringLiteral("model"))},
      {QStringLiteral("autoGenerate"), cli.isSet(QStringLiteral("generate"))},
      {QStringLiteral("screenshotPath"), cli.value(QStringLiteral("screenshot"))},
      {QStringLiteral("screenshotStep"), cli.value(QStringLiteral("screenshot-step")).toInt()},
  });
  engine.load(QUrl(QStringLiteral("qrc:/qt/qml/Papillon/Main.qml")));
  if (engine.rootObjects().isEmpty()) return 1;
  return QGuiApplication::exec();
}
