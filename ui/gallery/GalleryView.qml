import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import QtQuick.Dialogs
import Papillon

// The gallery grid: one tile per image of every job, updated in place as the steps run. A toolbar
// acts on the selected image or on the whole grid.
Pane {
    id: root

    readonly property int selectedRow: grid.currentIndex
    readonly property int selectedFrameCount: grid.currentItem ? grid.currentItem.frameCount : 0
    readonly property bool selectionDone: grid.currentItem !== null && grid.currentItem.tileState === "done"

    padding: 0

    ColumnLayout {
        anchors.fill: parent
        spacing: 0

        ToolBar {
            Layout.fillWidth: true
            RowLayout {
                anchors.fill: parent
                anchors.leftMargin: 4
                ToolButton {
                    text: qsTr("Save image…")
                    enabled: root.selectionDone
                    onClicked: { saveDialog.saveGrid = false; saveDialog.open() }
                }
                ToolButton {
                    text: qsTr("Save grid…")
                    enabled: grid.count > 0 && StudioController.runningJob === 0
                    onClicked: { saveDialog.saveGrid = true; saveDialog.open() }
                }
                ToolButton {
                    text: qsTr("Copy seed")
                    enabled: root.selectedRow >= 0
                    onClicked: StudioController.copySeed(root.selectedRow)
                }
                ToolButton {
                    text: qsTr("Copy parameters")
                    enabled: root.selectionDone
                    onClicked: StudioController.copyParameters(root.selectedRow)
                }
                ToolButton {
                    text: qsTr("Use these parameters")
                    enabled: root.selectionDone
                    onClicked: StudioController.useParameters(root.selectedRow)
                }
                Item { Layout.fillWidth: true }
                Label {
                    text: qsTr("%n image(s)", "", grid.count)
                    opacity: 0.7
                }
                ToolButton {
                    text: qsTr("Clear")
                    enabled: grid.count > 0 && !StudioController.busy
                    onClicked: StudioController.clearGallery()
                }
            }
        }

        GridView {
            id: grid
            objectName: "galleryGrid"
            Layout.fillWidth: true
            Layout.fillHeight: true
            clip: true
            currentIndex: -1
            keyNavigationEnabled: true
            focus: true

            readonly property int columns: Math.max(1, Math.floor(width / 200))
            cellWidth: Math.floor(width / columns)
            cellHeight: cellWidth + 26

            model: StudioController.gallery
            delegate: ImageTile {
                width: grid.cellWidth
                height: grid.cellHeight
                selected: GridView.isCurrentItem
                onClicked: { grid.currentIndex = index; grid.forceActiveFocus() }
            }
            ScrollBar.vertical: ScrollBar {}

            // The first image is selected as soon as it exists, so its timeline shows at once.
            onCountChanged: currentIndex = count === 0 ? -1 : Math.max(0, currentIndex)

            Label {
                anchors.centerIn: parent
                width: parent.width * 0.8
                horizontalAlignment: Text.AlignHCenter
                wrapMode: Text.Wrap
                visible: grid.count === 0
                opacity: 0.6
                text: StudioController.modelReady
                      ? qsTr("Press Generate (Ctrl+Return) and watch every image of the batch take shape here.")
                      : qsTr("Open a diffusers model folder to begin.")
            }
        }
    }

    FileDialog {
        id: saveDialog
        property bool saveGrid: false
        title: saveGrid ? qsTr("Save the grid as PNG") : qsTr("Save the image as PNG")
        fileMode: FileDialog.SaveFile
        defaultSuffix: "png"
        nameFilters: [qsTr("PNG images (*.png)")]
        onAccepted: saveGrid ? StudioController.saveGrid(selectedFile)
                             : StudioController.saveImage(root.selectedRow, selectedFile)
    }
}
