import QtQuick
import QtQuick.Controls
import QtTest
import Papillon

// The gallery as a user drives it: generate with the tiny DDPM fixture, every tile shows its
// image, clicks with Ctrl / Shift build a selection, Delete removes it (and the files in the
// library), the timeline strip follows the current image.
Item {
    id: root
    width: 900
    height: 600

    GalleryView {
        id: gallery
        anchors.fill: parent
    }

    TestCase {
        name: "Gallery"
        when: windowShown

        function tileAt(row) {
            const grid = findChild(gallery, "galleryGrid")
            grid.positionViewAtIndex(row, GridView.Contain)
            return grid.itemAtIndex(row)
        }

        function test_generate_select_delete() {
            StudioController.loadModel(ddpmTinyDir)
            tryCompare(StudioController, "modelReady", true, 60000)
            StudioController.clearGallery()
            StudioController.steps = 3
            StudioController.batchSize = 3
            StudioController.batchCount = 1
            StudioController.randomSeed = false
            StudioController.seed = "21"
            verify(StudioController.generate() > 0)
            const model = StudioController.gallery
            compare(model.count, 3)  // tiles at once
            tryCompare(StudioController, "busy", false, 60000)
            for (let row = 0; row < 3; ++row) {
                tryVerify(() => model.get(row).tileState === "done", 10000)
                tryVerify(() => model.get(row).filePath !== "", 10000)  // kept in the library
                const tile = tileAt(row)
                verify(tile)
                const image = findChild(tile, "tileImage")
                tryCompare(image, "status", Image.Ready)
                compare(image.sourceSize.width, 32)
            }

            // Click selects one, Ctrl+click adds, Shift+click extends from the last click.
            mouseClick(tileAt(0))
            compare(model.selectedCount, 1)
            compare(gallery.selectedRow, 0)
            mouseClick(tileAt(2), undefined, undefined, Qt.LeftButton, Qt.ControlModifier)
            compare(model.selectedCount, 2)
            verify(model.isSelected(0) && !model.isSelected(1) && model.isSelected(2))
            mouseClick(tileAt(1))
            mouseClick(tileAt(2), undefined, undefined, Qt.LeftButton, Qt.ShiftModifier)
            verify(!model.isSelected(0) && model.isSelected(1) && model.isSelected(2))
            compare(gallery.selectedFrameCount, 3)  // the current image's timeline

            // Delete removes the selection, its files too.
            const kept = model.get(0).filePath
            keyClick(Qt.Key_Delete)
            compare(model.count, 1)
            compare(model.get(0).filePath, kept)
            compare(model.selectedCount, 0)
        }
    }
}
