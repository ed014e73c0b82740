import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import QtQuick.Dialogs
import Papillon

// Application settings: language, theme, where finished images are kept, preview quality, and
// where and in what precision models run.
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

        Label { text: qsTr("Run on") }
        ComboBox {
            objectName: "deviceBox"
            Layout.fillWidth: true
            readonly property var devices: ["auto", "cpu", "cuda"]
            model: [qsTr("Automatic (GPU if available)"), qsTr("CPU"),
                    StudioController.cudaAvailable ? qsTr("GPU (CUDA)") : qsTr("GPU (CUDA): not available")]
            readonly property int chosen: Math.max(0, devices.indexOf(StudioController.computeDevice))
            currentIndex: chosen
            onActivated: (i) => {
                if (devices[i] === "cuda" && !StudioController.cudaAvailable) {
                    currentIndex = Qt.binding(() => chosen)  // back to the setting in force
                    return
                }
                StudioController.computeDevice = devices[i]
            }
        }

        Label { text: qsTr("Precision") }
        ComboBox {
            objectName: "precisionBox"
            Layout.fillWidth: true
            readonly property var precisions: ["full", "half"]
            model: [qsTr("Full (fp32): the same images as diffusers"),
                    qsTr("Half (bf16 on the CPU, fp16 on a GPU): faster")]
            currentIndex: Math.max(0, precisions.indexOf(StudioController.precision))
            onActivated: (i) => StudioController.precision = precisions[i]
        }
        Item { implicitWidth: 1 }
        Label {
            Layout.fillWidth: true
            Layout.maximumWidth: 420
            wrapMode: Text.Wrap
            opacity: 0.7
            text: StudioController.cpuNativeBf16
                  ? qsTr("This CPU computes bf16 natively: in half precision a large model such as Stable Diffusion takes about half the time per step (small models gain nothing). Images differ slightly from full precision. Changing either setting reloads the model.")
                  : qsTr("This CPU has no native bf16: on the CPU, half precision is slower than full. Changing either setting reloads the model.")
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
