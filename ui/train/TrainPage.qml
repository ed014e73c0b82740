import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import QtQuick.Dialogs
import Papillon

// Train your own diffusion model: the data and the run's settings on the left; the live loss
// curve, the latest sample grid and the controls on the right. Training runs on its own thread.
SplitView {
    id: page

    signal openModelRequested(string dir)

    readonly property bool idle: !TrainController.running

    orientation: Qt.Horizontal

    ScrollView {
        id: settings
        SplitView.preferredWidth: 340
        SplitView.minimumWidth: 280
        contentWidth: availableWidth
        enabled: page.idle

        ColumnLayout {
            width: settings.availableWidth
            spacing: 4

            Item { implicitHeight: 4 }
            SectionLabel { text: qsTr("Training images"); Layout.leftMargin: 12 }
            ComboBox {
                id: dataKind
                objectName: "trainDataKind"
                Layout.fillWidth: true
                Layout.leftMargin: 12
                Layout.rightMargin: 12
                model: [qsTr("Fashion-MNIST (installed)"), qsTr("A folder of images")]
                currentIndex: TrainController.data === "fashion-mnist" ? 0 : 1
                onActivated: (i) => {
                    if (i === 0) TrainController.setDataFolder("fashion-mnist")
                    else dataDialog.open()
                }
            }
            RowLayout {
                visible: dataKind.currentIndex === 1
                Layout.fillWidth: true
                Layout.leftMargin: 12
                Layout.rightMargin: 12
                TextField {
                    Layout.fillWidth: true
                    text: TrainController.data === "fashion-mnist" ? "" : TrainController.data
                    placeholderText: qsTr("Folder of PNG/JPEG images")
                    selectByMouse: true
                    onEditingFinished: TrainController.setDataFolder(text)
                }
                Button { text: qsTr("Choose…"); onClicked: dataDialog.open() }
            }
            Label {
                visible: dataKind.currentIndex === 0 && !TrainController.fashionMnistInstalled
                Layout.fillWidth: true
                Layout.leftMargin: 12
                Layout.rightMargin: 12
                wrapMode: Text.Wrap
                color: "#d32f2f"
                text: qsTr("Install it with: sudo apt install dataset-fashion-mnist")
            }
            CheckBox {
                visible: dataKind.currentIndex === 1
                Layout.leftMargin: 8
                text: qsTr("Grayscale")
                checked: TrainController.grayscale
                onToggled: TrainController.grayscale = checked
            }
            CheckBox {
                visible: dataKind.currentIndex === 0
                Layout.leftMargin: 8
                text: qsTr("Class-conditional (the prompt picks the class)")
                checked: TrainController.classConditional
                onToggled: TrainController.classConditional = checked
            }
            CheckBox {
                Layout.leftMargin: 8
                text: qsTr("Random horizontal flips")
                checked: TrainController.randomFlip
                onToggled: TrainController.randomFlip = checked
            }

            SectionLabel { text: qsTr("Model"); Layout.leftMargin: 12 }
            GridLayout {
                Layout.fillWidth: true
                Layout.leftMargin: 12
                Layout.rightMargin: 12
                columns: 2
                columnSpacing: 8
                rowSpacing: 6

                Label { text: qsTr("Size") }
                ComboBox {
                    id: presetBox
                    Layout.fillWidth: true
                    readonly property var presets: ["tiny", "small", "butterflies"]
                    model: [qsTr("Tiny (0.5 M parameters)"), qsTr("Small (2 M, CPU-friendly)"),
                            qsTr("Butterflies recipe (114 M, GPU)")]
                    currentIndex: Math.max(0, presets.indexOf(TrainController.preset))
                    onActivated: (i) => TrainController.preset = presets[i]
                }
                Label { text: qsTr("Resolution") }
                ComboBox {
                    Layout.fillWidth: true
                    readonly property var sizes: [28, 32, 64, 128]
                    model: sizes.map(s => s + " × " + s)
                    currentIndex: Math.max(0, sizes.indexOf(TrainController.resolution))
                    onActivated: (i) => TrainController.resolution = sizes[i]
                }
            }

            SectionLabel { text: qsTr("Run"); Layout.leftMargin: 12 }
            GridLayout {
                Layout.fillWidth: true
                Layout.leftMargin: 12
                Layout.rightMargin: 12
                columns: 2
                columnSpacing: 8
                rowSpacing: 6

                Label { text: qsTr("Steps") }
                SpinBox {
                    Layout.fillWidth: true
                    from: 1; to: 1000000; stepSize: 100; editable: true
                    value: TrainController.steps
                    onValueModified: TrainController.steps = value
                }
                Label { text: qsTr("Batch size") }
                SpinBox {
                    Layout.fillWidth: true
                    from: 1; to: 512; editable: true
                    value: TrainController.batchSize
                    onValueModified: TrainController.batchSize = value
                }
                Label { text: qsTr("Learning rate") }
                ComboBox {
                    Layout.fillWidth: true
                    readonly property var rates: [5e-5, 1e-4, 2e-4, 5e-4, 1e-3]
                    model: rates.map(r => r.toExponential(0))
                    currentIndex: Math.max(0, rates.findIndex(r => Math.abs(r - TrainController.learningRate) < r * 1e-3))
                    onActivated: (i) => TrainController.learningRate = rates[i]
                }
                Label { text: qsTr("Seed") }
                SpinBox {
                    Layout.fillWidth: true
                    from: 0; to: 2147483647; editable: true
                    value: TrainController.seed
                    onValueModified: TrainController.seed = value
                }
                Label { text: qsTr("Samples every") }
                SpinBox {
                    Layout.fillWidth: true
                    from: 0; to: 100000; stepSize: 50; editable: true
                    value: TrainController.sampleEvery
                    onValueModified: TrainController.sampleEvery = value
                }
                Label { text: qsTr("Checkpoint every") }
                SpinBox {
                    Layout.fillWidth: true
                    from: 0; to: 100000; stepSize: 100; editable: true
                    value: TrainController.checkpointEvery
                    onValueModified: TrainController.checkpointEvery = value
                }
            }

            SectionLabel { text: qsTr("Output folder"); Layout.leftMargin: 12 }
            RowLayout {
                Layout.fillWidth: true
                Layout.leftMargin: 12
                Layout.rightMargin: 12
                TextField {
                    Layout.fillWidth: true
                    text: TrainController.outputDir
                    placeholderText: qsTr("A new folder under Documents/Papillon/training")
                    selectByMouse: true
                    onEditingFinished: TrainController.setOutputFolder(text)
                }
                Button { text: qsTr("Choose…"); onClicked: outputDialog.open() }
            }
            Item { implicitHeight: 12 }
        }
    }

    ColumnLayout {
        SplitView.fillWidth: true
        spacing: 8

        RowLayout {
            Layout.fillWidth: true
            Layout.margins: 8
            spacing: 8
            Button {
                objectName: "trainStartButton"
                text: qsTr("Start")
                highlighted: true
                enabled: page.idle && TrainController.data !== ""
                onClicked: TrainController.start(false)
            }
            Button {
                text: qsTr("Resume")
                enabled: TrainController.canResume
                onClicked: TrainController.start(true)
                ToolTip.visible: hovered
                ToolTip.text: qsTr("Continue the checkpoint in the output folder")
            }
            Button {
                objectName: "trainStopButton"
                text: qsTr("Stop")
                enabled: TrainController.running && !TrainController.stopping
                onClicked: TrainController.stop()
            }
            Item { Layout.fillWidth: true }
            Button {
                objectName: "trainOpenButton"
                text: qsTr("Open this model")
                enabled: page.idle && TrainController.checkpointDir !== ""
                onClicked: page.openModelRequested(TrainController.checkpointDir)
            }
        }

        GridLayout {
            Layout.fillWidth: true
            Layout.leftMargin: 8
            Layout.rightMargin: 8
            columns: 4
            columnSpacing: 16
            Label { text: qsTr("Step %1 / %2").arg(TrainController.stepsDone).arg(TrainController.totalSteps) }
            Label { text: qsTr("Loss %1 (avg %2)").arg(TrainController.loss.toFixed(4)).arg(TrainController.smoothedLoss.toFixed(4)) }
            Label { text: qsTr("%1 steps/s").arg(TrainController.stepsPerSecond.toFixed(2)) }
            Label { text: qsTr("ETA %1").arg(StudioController.formatDuration(TrainController.etaSeconds)) }
        }
        ProgressBar {
            Layout.fillWidth: true
            Layout.leftMargin: 8
            Layout.rightMargin: 8
            from: 0
            to: Math.max(1, TrainController.totalSteps)
            value: TrainController.stepsDone
        }

        SplitView {
            Layout.fillWidth: true
            Layout.fillHeight: true
            orientation: Qt.Vertical

            LossChart {
                SplitView.fillHeight: true
                SplitView.minimumHeight: 120
            }
            Pane {
                SplitView.preferredHeight: parent.height * 0.5
                ColumnLayout {
                    anchors.fill: parent
                    Label {
                        text: TrainController.sampleStep > 0
                              ? qsTr("Samples after step %1 (EMA weights, fixed seed)").arg(TrainController.sampleStep)
                              : qsTr("Sample grids appear here as the model trains.")
                        opacity: 0.75
                    }
                    Image {
                        objectName: "trainSample"
                        Layout.fillWidth: true
                        Layout.fillHeight: true
                        fillMode: Image.PreserveAspectFit
                        smooth: false
                        cache: false
                        source: TrainController.sampleSource
                    }
                }
            }
        }

        Label {
            Layout.fillWidth: true
            Layout.leftMargin: 8
            Layout.rightMargin: 8
            Layout.bottomMargin: 6
            wrapMode: Text.Wrap
            text: TrainController.errorText !== "" ? TrainController.errorText : TrainController.statusText
            color: TrainController.errorText !== "" ? "#d32f2f" : palette.windowText
        }
    }

    FolderDialog {
        id: dataDialog
        title: qsTr("Choose a folder of training images")
        onAccepted: TrainController.setDataFolder(selectedFolder)
    }
    FolderDialog {
        id: outputDialog
        title: qsTr("Choose the output folder")
        onAccepted: TrainController.setOutputFolder(selectedFolder)
    }
}
