// QtQuickTest runner for the window's QML (tests/ui/qml/tst_*.qml): components on their own, and
// the gallery driven by the real StudioController singleton with the tiny DDPM fixture.
#include <QtQml/qqmlextensionplugin.h>
#include <QObject>
#include <QQmlContext>
#include <QQmlEngine>
#include <QSettings>
#include <QStandardPaths>
#include <QtQuickTest>

#include "tests/common/fixtures.h"

Q_IMPORT_QML_PLUGIN(PapillonPlugin)

class QmlSetup : public QObject {
  Q_OBJECT

 public Q_SLOTS:
  void applicationAvailable() {
    QStandardPaths::setTestModeEnabled(true);  // QSettings in a test location
    QSettings().clear();
    QSettings().setValue(QStringLiteral("library/folder"),
                         QString::fromStdString(papillon::test::temp_dir("qml_library")));
  }
  void qmlEngineAvailable(QQmlEngine* engine) {
    engine->addImportPath(QStringLiteral("qrc:/qt/qml"));
    // Test data for the QML tests (the application itself has no context properties).
    engine->rootContext()->setContextProperty(
        QStringLiteral("ddpmTinyDir"),
        QString::fromStdString(papillon::test::fixture_path("pipelines/ddpm_tiny")));
    engine->rootContext()->setContextProperty(
        QStringLiteral("tempDir"), QString::fromStdString(papillon::test::temp_dir("qml_tests")));
  }
};

QUICK_TEST_MAIN_WITH_SETUP(papillon_qml, QmlSetup)
#include "tst_qml.moc"
