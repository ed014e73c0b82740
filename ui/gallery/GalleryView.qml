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
                    text: qsTr("Save selected…")
                    enabled: StudioController.gallery.selectedCount > 0
                    onClicked: folderDialog.open()
                    ToolTip.visible: hovered
                    ToolTip.text: qsTr("Each selected image as its own PNG in a folder")
                }
                ToolButton {
                    objectName: "saveGridButton"
                    text: qsTr("Save grid…")
                    enabled: grid.count > 0 && StudioController.runningJob === 0
                    onClicked: gridOptions.open()
                }
                ToolButton {
                    text: qsTr("Use these parameters")
                    enabled: root.selectionDone
                    onClicked: StudioController.useParameters(root.selectedRow)
                }
                ToolButton {
                    objectName: "deleteButton"
                    text: qsTr("Delete")
                    enabled: root.selectionDone || StudioController.gallery.selectedCount > 0
                    onClicked: root.deleteSelection()
                    ToolTip.visible: hovered
                    ToolTip.text: qsTr("Remove the selected images and their files in the library (Del)")
                }
                Item { Layout.fillWidth: true }
                Label {
                    text: StudioController.gallery.selectedCount > 1
                          ? qsTr("%1 of %n image(s) selected", "", grid.count).arg(StudioController.gallery.selectedCount)
                          : qsTr("%n image(s)", "", grid.count)
                    opacity: 0.7
                }
                BusyIndicator {
                    running: StudioController.historyLoading
                    visible: running
                    Layout.preferredHeight: 24
                    Layout.preferredWidth: 24
                }
                ToolButton {
                    id: moreButton
                    text: "⋯"
                    font.pixelSize: 18
                    onClicked: moreMenu.popup(moreButton, 0, moreButton.height)
                    ToolTip.visible: hovered
                    ToolTip.text: qsTr("More actions")
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
                current: GridView.isCurrentItem
                onClicked: (modifiers) => {
                    const mode = (modifiers & Qt.ShiftModifier) ? GalleryModel.SelectRange
                               : (modifiers & Qt.ControlModifier) ? GalleryModel.SelectToggle
                               : GalleryModel.SelectOnly
                    StudioController.gallery.select(index, mode)
                    grid.currentIndex = index
                    grid.forceActiveFocus()
                }
            }
            Keys.onDeletePressed: root.deleteSelection()
            Keys.onPressed: (event) => {
                if (event.matches(StandardKey.SelectAll)) {
                    StudioController.gallery.selectAll()
                    event.accepted = true
                }
            }
            ScrollBar.vertical: ScrollBar {}

            // A new job's first image becomes current as soon as it exists (its timeline shows at
            // once) and the view scrolls to it; history loading keeps the current image.
            onCountChanged: currentIndex = count === 0 ? -1 : Math.max(0, Math.min(currentIndex, count - 1))
            Connections {
                target: StudioController
                function onJobQueued(jobId, firstRow) {
                    if (StudioController.runningJob === 0) {
                        grid.currentIndex = firstRow
                        grid.positionViewAtIndex(firstRow, GridView.Beginning)
                    }
                }
            }

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

    function deleteSelection() {
        const removed = StudioController.deleteSelected(grid.currentIndex)
        if (removed > 0)
            grid.currentIndex = Math.min(grid.currentIndex, grid.count - 1)
    }

    Menu {
        id: moreMenu
        MenuItem {
            text: qsTr("Copy seed")
            enabled: root.selectedRow >= 0
            onTriggered: StudioController.copySeed(root.selectedRow)
        }
        MenuItem {
            text: qsTr("Copy parameters")
            enabled: root.selectionDone
            onTriggered: StudioController.copyParameters(root.selectedRow)
        }
        MenuSeparator {}
        MenuItem {
            text: qsTr("Select all")
            enabled: grid.count > 0
            onTriggered: StudioController.gallery.selectAll()
        }
        MenuItem {
            text: qsTr("Reload the library")
            enabled: !StudioController.busy
            onTriggered: StudioController.reloadHistory()
        }
        MenuItem {
            text: qsTr("Clear the gallery")
            enabled: grid.count > 0 && !StudioController.busy
            onTriggered: StudioController.clearGallery()
        }
    }

    GridOptionsDialog {
        id: gridOptions
        anchors.centerIn: Overlay.overlay
        hasSelection: StudioController.gallery.selectedCount > 1
        onAccepted: { saveDialog.saveGrid = true; saveDialog.open() }
    }

    FolderDialog {
        id: folderDialog
        title: qsTr("Save the selected images into a folder")
        onAccepted: StudioController.saveSelected(selectedFolder, root.selectedRow)
    }

    FileDialog {
        id: saveDialog
        property bool saveGrid: false
        title: saveGrid ? qsTr("Save the grid as PNG") : qsTr("Save the image as PNG")
        fileMode: FileDialog.SaveFile
        defaultSuffix: "png"
        nameFilters: [qsTr("PNG images (*.png)")]
        onAccepted: saveGrid ? StudioController.saveGrid(selectedFile, gridOptions.columns,
                                                         gridOptions.gridPadding, gridOptions.selectedOnly,
                                                         gridOptions.timelineFrames)
                             : StudioController.saveImage(root.selectedRow, selectedFile)
    }
}
