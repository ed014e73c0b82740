import QtQuick
import QtQuick.Controls
import QtQuick.Layouts
import Papillon

// The selected image's denoising as a strip of frames, with a scrub slider and a larger view of
// the frame under it (the tutorial's step-by-step view).
Pane {
    id: strip

    property int row: -1
    property int frameCount: 0
    property int frame: frameCount - 1   // follows the newest frame until the user scrubs

    implicitHeight: 150
    padding: 6

    onRowChanged: frame = Qt.binding(() => frameCount - 1)

    RowLayout {
        anchors.fill: parent
        spacing: 8

        ColumnLayout {
            Layout.preferredWidth: 130
            Layout.maximumWidth: 130
            Layout.fillHeight: true
            Image {
                Layout.fillWidth: true
                Layout.fillHeight: true
                fillMode: Image.PreserveAspectFit
                smooth: false
                cache: false
                source: strip.row >= 0 && strip.frame >= 0
                        ? StudioController.gallery.frameSource(strip.row, strip.frame) : ""
            }
            Label {
                Layout.alignment: Qt.AlignHCenter
                text: qsTr("Step %1").arg(StudioController.gallery.frameStep(strip.row, strip.frame))
                font.pixelSize: 12
            }
        }
        ColumnLayout {
            Layout.fillWidth: true
            Layout.fillHeight: true
            ListView {
                id: frames
                Layout.fillWidth: true
                Layout.fillHeight: true
                orientation: ListView.Horizontal
                spacing: 2
                clip: true
                model: strip.frameCount
                currentIndex: strip.frame
                highlightFollowsCurrentItem: true
                delegate: Rectangle {
                    required property int index
                    height: frames.height
                    width: height
                    color: "transparent"
                    border.color: index === strip.frame ? strip.palette.highlight : "transparent"
                    border.width: 2
                    Image {
                        anchors.fill: parent
                        anchors.margins: 2
                        fillMode: Image.PreserveAspectFit
                        smooth: false
                        cache: false
                        source: StudioController.gallery.frameSource(strip.row, parent.index)
                    }
                    MouseArea {
                        anchors.fill: parent
                        onClicked: strip.frame = parent.index
                    }
                }
            }
            Slider {
                Layout.fillWidth: true
                from: 0
                to: Math.max(0, strip.frameCount - 1)
                stepSize: 1
                snapMode: Slider.SnapAlways
                value: strip.frame
                onMoved: strip.frame = value
            }
        }
    }
}
