import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import Papillon

// The generation controls. They follow the model: no prompt for unconditional models, no size for
// fixed-size ones, the model's schedulers with its default first.
ScrollView {
    id: panel

    readonly property var info: StudioController.modelInfo
    readonly property bool takesPrompt: info.takesPrompt === true
    readonly property bool fixedSize: info.fixedSize !== false

    contentWidth: availableWidth
    enabled: StudioController.modelReady

    ColumnLayout {
        width: panel.availableWidth
        spacing: 4

        Item { implicitHeight: 4 }

        SectionLabel {
            text: qsTr("Prompt")
            visible: panel.takesPrompt
            Layout.leftMargin: 12
        }
        TextArea {
            objectName: "promptField"
            visible: panel.takesPrompt
            Layout.fillWidth: true
            Layout.leftMargin: 12
            Layout.rightMargin: 12
            Layout.preferredHeight: 90
            wrapMode: TextEdit.Wrap
            placeholderText: qsTr("Describe the image")
            text: StudioController.prompt
            onTextChanged: if (text !== StudioController.prompt) StudioController.prompt = text
        }
        Label {
            // What the text encoder reads of the prompt: "12 / 75 tokens" (Stable Diffusion
            // continues in chunks of 75), "130 / 120" for T5 (the rest is cut off).
            objectName: "promptTokenCount"
            readonly property var count: StudioController.modelReady
                                         ? StudioController.promptTokens(StudioController.prompt) : ({})
            readonly property bool over: count.limit !== undefined && count.tokens > count.limit
            visible: panel.takesPrompt && count.limit !== undefined
            Layout.alignment: Qt.AlignRight
            Layout.rightMargin: 12
            opacity: over ? 1.0 : 0.6
            color: over ? "#d04040" : palette.text
            text: over ? qsTr("%1 / %2 tokens: the words past %2 are cut off").arg(count.tokens).arg(count.limit)
                       : qsTr("%1 / %2 tokens").arg(count.tokens).arg(count.limit)
        }
        SectionLabel {
            text: qsTr("Negative prompt")
            visible: panel.takesPrompt && panel.info.takesNegativePrompt === true
            Layout.leftMargin: 12
        }
        TextArea {
            visible: panel.takesPrompt && panel.info.takesNegativePrompt === true
            Layout.fillWidth: true
            Layout.leftMargin: 12
            Layout.rightMargin: 12
            Layout.preferredHeight: 60
            wrapMode: TextEdit.Wrap
            placeholderText: qsTr("What the image should not show")
            text: StudioController.negativePrompt
            onTextChanged: if (text !== StudioController.negativePrompt) StudioController.negativePrompt = text
        }
        Label {
            visible: StudioController.modelReady && !panel.takesPrompt
            Layout.fillWidth: true
            Layout.leftMargin: 12
            Layout.rightMargin: 12
            wrapMode: Text.Wrap
            opacity: 0.75
            text: qsTr("This model is unconditional: it takes no prompt.")
        }

        GridLayout {
            Layout.fillWidth: true
            Layout.leftMargin: 12
            Layout.rightMargin: 12
            columns: 2
            columnSpacing: 8
            rowSpacing: 6

            Label { text: qsTr("Steps") }
            SliderSpin {
                objectName: "stepsControl"
                Layout.fillWidth: true
                from: 1
                to: 1000
                value: StudioController.steps
                onMoved: (v) => StudioController.steps = v
            }

            Label {
                text: qsTr("Guidance")
                visible: panel.info.takesGuidance === true
            }
            SliderSpin {
                visible: panel.info.takesGuidance === true
                Layout.fillWidth: true
                from: 1
                to: 20
                decimals: 1
                stepSize: 0.5
                value: StudioController.guidanceScale
                onMoved: (v) => StudioController.guidanceScale = v
            }

            Label { text: qsTr("Seed") }
            RowLayout {
                Layout.fillWidth: true
                TextField {
                    Layout.fillWidth: true
                    text: StudioController.seed
                    enabled: !StudioController.randomSeed
                    validator: RegularExpressionValidator { regularExpression: /[0-9]{1,19}/ }
                    onEditingFinished: StudioController.seed = text
                    selectByMouse: true
                }
                ToolButton {
                    text: "⚄"
                    font.pixelSize: 20
                    onClicked: StudioController.randomizeSeed()
                    ToolTip.visible: hovered
                    ToolTip.text: qsTr("Roll a new seed")
                }
            }
            Item { implicitWidth: 1 }
            CheckBox {
                text: qsTr("New random seed for every run")
                checked: StudioController.randomSeed
                onToggled: StudioController.randomSeed = checked
            }

            Label { text: qsTr("Size") }
            RowLayout {
                Layout.fillWidth: true
                enabled: !panel.fixedSize
                SpinBox {
                    Layout.fillWidth: true
                    from: 16
                    to: 2048
                    stepSize: panel.info.sizeMultiple > 0 ? panel.info.sizeMultiple : 8
                    editable: true
                    value: StudioController.width
                    onValueModified: StudioController.width = value
                }
                Label { text: "×" }
                SpinBox {
                    Layout.fillWidth: true
                    from: 16
                    to: 2048
                    stepSize: panel.info.sizeMultiple > 0 ? panel.info.sizeMultiple : 8
                    editable: true
                    value: StudioController.height
                    onValueModified: StudioController.height = value
                }
            }
            Item {
                implicitWidth: 1
                visible: panel.fixedSize && StudioController.modelReady
            }
            Label {
                visible: panel.fixedSize && StudioController.modelReady
                opacity: 0.75
                text: qsTr("This model makes %1 × %2 images only.")
                    .arg(StudioController.width).arg(StudioController.height)
            }

            Label { text: qsTr("Batch size") }
            SpinBox {
                objectName: "batchSizeSpin"
                Layout.fillWidth: true
                from: 1
                to: 16
                editable: true
                value: StudioController.batchSize
                onValueModified: StudioController.batchSize = value
            }
            Label { text: qsTr("Batch count") }
            SpinBox {
                Layout.fillWidth: true
                from: 1
                to: 20
                editable: true
                value: StudioController.batchCount
                onValueModified: StudioController.batchCount = value
            }

            Label { text: qsTr("Scheduler") }
            ComboBox {
                id: schedulerBox
                Layout.fillWidth: true
                model: panel.info.schedulers || []
                currentIndex: Math.max(0, (panel.info.schedulers || []).indexOf(StudioController.scheduler))
                displayText: StudioController.schedulerLabel(currentText)
                delegate: ItemDelegate {
                    required property string modelData
                    required property int index
                    width: schedulerBox.width
                    text: StudioController.schedulerLabel(modelData)
                    highlighted: schedulerBox.highlightedIndex === index
                }
                onActivated: StudioController.scheduler = currentText
            }

            Label {
                text: qsTr("Eta")
                visible: StudioController.etaAvailable
                HoverHandler { id: etaHover }
                ToolTip.visible: etaHover.hovered
                ToolTip.text: qsTr("DDIM's eta: 0 is deterministic, 1 adds fresh noise every step as DDPM does")
            }
            SliderSpin {
                objectName: "etaControl"
                visible: StudioController.etaAvailable
                Layout.fillWidth: true
                from: 0
                to: 1
                decimals: 2
                stepSize: 0.05
                value: StudioController.eta
                onMoved: (v) => StudioController.eta = v
            }
        }

        Button {
            objectName: "resetDefaultsButton"
            Layout.leftMargin: 12
            Layout.rightMargin: 12
            Layout.fillWidth: true
            flat: true
            enabled: !StudioController.atModelDefaults
            opacity: enabled ? 1 : 0.45  // Fusion draws a disabled flat button like an enabled one
            text: qsTr("Reset to the model's defaults")
            onClicked: StudioController.resetToModelDefaults()
            ToolTip.visible: hovered
            ToolTip.text: StudioController.modelDefaultsText
        }

        RowLayout {
            Layout.fillWidth: true
            Layout.leftMargin: 12
            Layout.rightMargin: 12
            Layout.topMargin: 8
            Button {
                objectName: "generateButton"
                Layout.fillWidth: true
                text: qsTr("Generate")
                highlighted: true
                onClicked: StudioController.generate()
                ToolTip.visible: hovered
                ToolTip.text: qsTr("Queue a job (Ctrl+Return)")
            }
            Button {
                text: qsTr("Cancel")
                enabled: StudioController.runningJob !== 0
                onClicked: StudioController.cancel()
                ToolTip.visible: hovered
                ToolTip.text: qsTr("Stop the running job and keep its previews (Esc)")
            }
        }
        Button {
            Layout.leftMargin: 12
            Layout.rightMargin: 12
            Layout.fillWidth: true
            visible: StudioController.queuedJobs > 0
            text: qsTr("Remove %n queued job(s)", "", StudioController.queuedJobs)
            onClicked: StudioController.removeQueued()
        }
        Item { implicitHeight: 8 }
    }
}
