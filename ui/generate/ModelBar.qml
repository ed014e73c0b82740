import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import QtQuick.Dialogs
import Papillon

// The model row: the folder in use, Open folder, recent models, what the model is; load errors
// show inline under it.
ToolBar {
    id: bar

    ColumnLayout {
        anchors.fill: parent
        anchors.leftMargin: 8
        anchors.rightMargin: 8
        spacing: 2

        RowLayout {
            Layout.fillWidth: true
            spacing: 8

            Label {
                text: qsTr("Model")
                font.bold: true
            }
            TextField {
                id: pathField
                objectName: "modelPathField"
                Layout.fillWidth: true
                placeholderText: qsTr("Path of a diffusers model folder")
                text: StudioController.modelPath
                selectByMouse: true
                onAccepted: StudioController.loadModel(text)
            }
            Button {
                text: qsTr("Open folder…")
                onClicked: folderDialog.open()
            }
            ToolButton {
                id: recentButton
                text: qsTr("Recent")
                enabled: StudioController.recentModels.length > 0
                onClicked: recentMenu.open()
                Menu {
                    id: recentMenu
                    y: recentButton.height
                    Instantiator {
                        model: StudioController.recentModels
                        delegate: MenuItem {
                            required property string modelData
                            text: modelData
                            onTriggered: StudioController.loadModel(modelData)
                        }
                        onObjectAdded: (index, object) => recentMenu.insertItem(index, object)
                        onObjectRemoved: (index, object) => recentMenu.removeItem(object)
                    }
                }
            }
            BusyIndicator {
                running: StudioController.modelLoading
                visible: running
                Layout.preferredHeight: 28
                Layout.preferredWidth: 28
            }
            Label {
                visible: StudioController.modelReady
                text: {
                    const info = StudioController.modelInfo
                    const where = (info.device || "cpu").startsWith("cuda") ? qsTr("GPU") : qsTr("CPU")
                    return qsTr("%1 · %2 × %3 · %4 M parameters · %5 %6")
                        .arg(info.family || info.pipelineClass).arg(info.defaultWidth).arg(info.defaultHeight)
                        .arg((info.parameters / 1e6).toFixed(1)).arg(where).arg(info.dtype || "fp32")
                }
                opacity: 0.75
                HoverHandler { id: infoHover }
                ToolTip.visible: infoHover.hovered
                ToolTip.text: StudioController.modelInfo.pipelineClass + " · " + qsTr("Components: %1").arg((StudioController.modelInfo.components || []).join(", "))
            }
            Label {
                objectName: "modelDefaultsLabel"
                visible: StudioController.modelReady
                text: "· " + StudioController.modelDefaultsText
                opacity: 0.75
            }
        }
        Label {
            objectName: "modelError"
            Layout.fillWidth: true
            visible: StudioController.modelError !== ""
            text: qsTr("Could not open the model: %1").arg(StudioController.modelError)
            color: "#d32f2f"
            wrapMode: Text.Wrap
            bottomPadding: 4
        }
    }

    Connections {
        target: StudioController
        function onModelChanged() { pathField.text = StudioController.modelPath }
    }

    FolderDialog {
        id: folderDialog
        title: qsTr("Open a diffusers model folder")
        onAccepted: StudioController.loadModel(selectedFolder)
    }
}
