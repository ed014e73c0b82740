import QtQuick
import QtQuick.Controls
import QtQuick.Layouts

// How a grid is laid out before it is saved: columns, padding, which images, and whether each
// image brings its step timeline along (one row per image).
Dialog {
    id: dialog

    property bool hasSelection: false
    readonly property int columns: autoColumns.checked ? 0 : columnsSpin.value
    readonly property int gridPadding: paddingSpin.value
    readonly property bool selectedOnly: hasSelection && selectedBox.checked
    readonly property int timelineFrames: timelineBox.checked ? framesSpin.value : 0

    title: qsTr("Save a grid")
    modal: true
    standardButtons: Dialog.Ok | Dialog.Cancel

    GridLayout {
        columns: 2
        columnSpacing: 12
        rowSpacing: 6

        Label { text: qsTr("Columns") }
        RowLayout {
            CheckBox { id: autoColumns; text: qsTr("Automatic"); checked: true }
            SpinBox {
                id: columnsSpin
                enabled: !autoColumns.checked && !timelineBox.checked
                from: 1; to: 32; value: 4; editable: true
            }
        }
        Label { text: qsTr("Padding") }
        SpinBox { id: paddingSpin; from: 0; to: 64; value: 2; editable: true }
        Label { text: qsTr("Images") }
        CheckBox {
            id: selectedBox
            enabled: dialog.hasSelection
            checked: dialog.hasSelection
            text: qsTr("Only the selected images")
        }
        Label { text: qsTr("Timeline") }
        RowLayout {
            CheckBox { id: timelineBox; text: qsTr("Add each image's denoising steps") }
            SpinBox {
                id: framesSpin
                enabled: timelineBox.checked
                from: 2; to: 16; value: 6; editable: true
            }
        }
    }
}
