import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import Papillon

// The status bar: progress of the running job (step i/N, it/s, ETA), the queue, and the last
// message or error.
ToolBar {
    RowLayout {
        anchors.fill: parent
        anchors.leftMargin: 8
        anchors.rightMargin: 8
        spacing: 12

        ProgressBar {
            objectName: "progressBar"
            Layout.preferredWidth: 220
            from: 0
            to: Math.max(1, StudioController.totalSteps)
            value: StudioController.runningJob !== 0 ? StudioController.currentStep : 0
        }
        Label {
            visible: StudioController.runningJob !== 0
            text: qsTr("Step %1/%2").arg(StudioController.currentStep).arg(StudioController.totalSteps)
        }
        Label {
            visible: StudioController.runningJob !== 0
            text: qsTr("%1 it/s").arg(StudioController.itPerSec.toFixed(1))
        }
        Label {
            visible: StudioController.runningJob !== 0
            text: qsTr("ETA %1").arg(StudioController.formatDuration(StudioController.etaSeconds))
        }
        Label {
            visible: StudioController.queuedJobs > 0
            text: qsTr("%n job(s) queued, all done in %1", "", StudioController.queuedJobs)
                .arg(StudioController.formatDuration(StudioController.queueEtaSeconds))
        }
        Label {
            Layout.fillWidth: true
            elide: Text.ElideRight
            text: StudioController.errorText !== ""
                  ? StudioController.statusText + (StudioController.statusText !== "" ? ": " : "") + StudioController.errorText
                  : StudioController.statusText
            color: StudioController.errorText !== "" ? "#d32f2f" : palette.windowText
            ToolTip.visible: hover.hovered && truncated
            ToolTip.text: text
            HoverHandler { id: hover }
        }
    }
}
