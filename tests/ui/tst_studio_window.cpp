// The real window, offscreen: it opens the tiny DDPM model, generates a batch, and the grabbed
// window shows every gallery tile with an image (not blank).
#include <QtQml/qqmlextensionplugin.h>
#include <QQmlApplicationEngine>
#include <QQuickItem>
#include <QQuickWindow>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QtTest>
#include <cmath>

#include "tests/common/fixtures.h"
#include "ui/studio_controller.h"

Q_IMPORT_QML_PLUGIN(PapillonPlugin)

using papillon::ui::StudioController;

namespace {

// Standard deviation of the grey levels inside `rect` of `image`.
double grey_stddev(const QImage& image, const QRect& rect) {
  double sum = 0, sum2 = 0;
  int n = 0;
  for (int y = rect.top(); y <= rect.bottom(); ++y) {
    for (int x = rect.left(); x <= rect.right(); ++x) {
      const double v = qGray(image.pixel(x, y));
      sum += v;
      sum2 += v * v;
      ++n;
    }
  }
  if (n == 0) return 0;
  const double mean = sum / n;
  return std::sqrt(std::max(0.0, sum2 / n - mean * mean));
}

// Visible items named `name` in the visual tree under `item` (delegates are not QObject
// children of the view, so findChildren does not see them).
void collect(QQuickItem* item, const QString& name, QList<QQuickItem*>& out) {
  if (!item->isVisible()) return;
  if (item->objectName() == name) out.append(item);
  for (QQuickItem* child : item->childItems())
    collect(child, name, out);
}

}  // namespace

class TestStudioWindow : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void initTestCase() {
    QStandardPaths::setTestModeEnabled(true);
    QSettings().clear();  // no settings or library images of an earlier run
    QSettings().setValue("library/folder",
                         QString::fromStdString(papillon::test::temp_dir("window_library")));
  }

  void generates_and_shows_every_tile() {
    QQmlApplicationEngine engine;
    engine.addImportPath("qrc:/qt/qml");
    engine.setInitialProperties(
        {{"startupModel",
          QString::fromStdString(papillon::test::fixture_path("pipelines/ddpm_tiny"))}});
    engine.load(QUrl("qrc:/qt/qml/Papillon/Main.qml"));
    QCOMPARE(engine.rootObjects().size(), 1);
    auto* window = qobject_cast<QQuickWindow*>(engine.rootObjects().first());
    QVERIFY(window);
    QVERIFY(QTest::qWaitForWindowExposed(window));

    auto* studio = engine.singletonInstance<StudioController*>(
        qmlTypeId("Papillon", 1, 0, "StudioController"));
    QVERIFY(studio);
    QTRY_VERIFY_WITH_TIMEOUT(studio->modelReady(), 60000);
    studio->setProperty("steps", 3);
    studio->setProperty("batchSize", 3);
    QSignalSpy finished(studio, &StudioController::jobFinished);
    QVERIFY(studio->generate() > 0);
    QVERIFY(finished.wait(60000));
    QTest::qWait(200);  // the coalesced gallery update and a frame

    QList<QQuickItem*> grids;
    collect(window->contentItem(), "galleryGrid", grids);
    QCOMPARE(grids.size(), 1);
    QList<QQuickItem*> images;
    collect(grids.first(), "tileImage", images);
    QCOMPARE(images.size(), 3);
    const QImage shot = window->grabWindow();
    QVERIFY(!shot.isNull());
    const qreal dpr = shot.devicePixelRatio();
    for (QQuickItem* image : images) {
      QCOMPARE(image->property("status").toInt(), 1);  // Image.Ready
      const qreal w = image->property("paintedWidth").toReal();
      const qreal h = image->property("paintedHeight").toReal();
      const QRectF r =
          image->mapRectToScene(QRectF((image->width() - w) / 2, (image->height() - h) / 2, w, h));
      const QRect px = QRect(std::lround(r.x() * dpr), std::lround(r.y() * dpr),
                             std::lround(r.width() * dpr), std::lround(r.height() * dpr))
                           .adjusted(4, 4, -4, -4)
                           .intersected(shot.rect());
      QVERIFY(px.width() > 20 && px.height() > 20);
      const double spread = grey_stddev(shot, px);
      QVERIFY2(spread > 5, qPrintable(QString("tile at %1,%2 looks blank (stddev %3)")
                                          .arg(px.x())
                                          .arg(px.y())
                                          .arg(spread)));
    }
  }
};

QTEST_MAIN(TestStudioWindow)
#include "tst_studio_window.moc"
