import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import QtQuick.Dialogs
import Papillon

// Application settings: language, theme, where finished images are kept, preview quality.
Dialog {
    id: dialog

    title: qsTr("Settings")
    modal: true
    standardButtons: Dialog.Close

    GridLayout {
        columns: 2
        columnSpacing: 12
        rowSpacing: 8

        Label { text: qsTr("Language") }
        ComboBox {
            objectName: "languageBox"
            Layout.fillWidth: true
            readonly property var codes: ["", "en", "zh_CN"]
            // Language names stay in their own language.
            model: [qsTr("System default"), "English", "简体中文"]
            currentIndex: Math.max(0, codes.indexOf(StudioController.language))
            onActivated: (i) => StudioController.language = codes[i]
        }

        Label { text: qsTr("Theme") }
        ComboBox {
            Layout.fillWidth: true
            readonly property var themes: ["system", "light", "dark"]
            model: [qsTr("System"), qsTr("Light"), qsTr("Dark")]
            currentIndex: Math.max(0, themes.indexOf(StudioController.theme))
            onActivated: (i) => StudioController.theme = themes[i]
        }

        Label { text: qsTr("Image library") }
        RowLayout {
            Layout.fillWidth: true
            TextField {
                Layout.fillWidth: true
                Layout.minimumWidth: 280
                text: StudioController.libraryFolder
                selectByMouse: true
                onEditingFinished: StudioController.setLibraryFolder(text)
            }
            Button { text: qsTr("Choose…"); onClicked: libraryDialog.open() }
        }
        Item { implicitWidth: 1 }
        Label {
            Layout.fillWidth: true
            Layout.maximumWidth: 420
            wrapMode: Text.Wrap
            opacity: 0.7
            text: qsTr("Every finished image is kept here with its parameters and comes back when Papillon starts.")
        }

        Label { text: qsTr("Full preview every") }
        RowLayout {
            SpinBox {
                from: 0; to: 1000; editable: true
                value: StudioController.fullPreviewEvery
                onValueModified: StudioController.fullPreviewEvery = value
            }
            Label { text: qsTr("steps (0: off)") }
        }
        Item { implicitWidth: 1 }
        Label {
            Layout.fillWidth: true
            Layout.maximumWidth: 420
            wrapMode: Text.Wrap
            opacity: 0.7
            text: qsTr("Latent models (Stable Diffusion) preview each step with a fast colour projection; a full VAE decode shows the exact image but costs about as much as a step.")
        }
    }

    FolderDialog {
        id: libraryDialog
        title: qsTr("Choose the image library folder")
        onAccepted: StudioController.setLibraryFolder(selectedFolder)
    }
}
