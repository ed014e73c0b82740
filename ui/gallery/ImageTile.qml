import QtQuick
import QtQuick.Controls
import QtQuick.Layouts

// One image of the gallery: its latest preview (or the final image), its state and step, its seed.
Control {
    id: tile

    required property int index
    required property string source
    required property string seed
    required property string tileState
    required property int step
    required property int totalSteps
    required property int frameCount
    required property bool selected      // in the gallery's selection
    property bool current: false         // the image whose timeline shows
    signal clicked(int modifiers)

    Rectangle {
        anchors.fill: parent
        anchors.margins: 4
        radius: 4
        color: tile.selected ? Qt.rgba(tile.palette.highlight.r, tile.palette.highlight.g, tile.palette.highlight.b, 0.25) : "transparent"
        border.color: tile.current || tile.selected ? tile.palette.highlight : Qt.rgba(tile.palette.windowText.r, tile.palette.windowText.g, tile.palette.windowText.b, 0.15)
        border.width: tile.current ? 2 : 1

        ColumnLayout {
            anchors.fill: parent
            anchors.margins: 6
            spacing: 2

            Item {
                Layout.fillWidth: true
                Layout.fillHeight: true

                Rectangle {
                    anchors.fill: parent
                    color: Qt.rgba(tile.palette.windowText.r, tile.palette.windowText.g, tile.palette.windowText.b, 0.06)
                    visible: tile.source === ""
                }
                Image {
                    objectName: "tileImage"
                    anchors.fill: parent
                    source: tile.source
                    fillMode: Image.PreserveAspectFit
                    smooth: false        // small models: crisp pixels
                    cache: false
                    asynchronous: false
                }
                Label {
                    anchors.centerIn: parent
                    visible: tile.tileState === "queued"
                    text: qsTr("Queued")
                    opacity: 0.7
                }
                Label {
                    anchors.right: parent.right
                    anchors.bottom: parent.bottom
                    anchors.margins: 4
                    visible: tile.tileState === "running" || tile.tileState === "cancelled" || tile.tileState === "failed"
                    padding: 3
                    color: "white"
                    text: tile.tileState === "cancelled" ? qsTr("Cancelled at %1/%2").arg(tile.step).arg(tile.totalSteps)
                        : tile.tileState === "failed" ? qsTr("Failed")
                        : qsTr("%1/%2").arg(tile.step).arg(tile.totalSteps)
                    background: Rectangle { color: "#99000000"; radius: 3 }
                }
            }
            Label {
                Layout.fillWidth: true
                horizontalAlignment: Text.AlignHCenter
                elide: Text.ElideRight
                text: qsTr("Seed %1").arg(tile.seed)
                font.pixelSize: 12
                opacity: 0.8
            }
        }
        Label {
            anchors.top: parent.top
            anchors.right: parent.right
            anchors.margins: 8
            visible: tile.selected
            text: "✓"
            color: "white"
            padding: 2
            leftPadding: 5
            rightPadding: 5
            background: Rectangle { color: tile.palette.highlight; radius: 8 }
        }
        MouseArea {
            anchors.fill: parent
            onClicked: (mouse) => tile.clicked(mouse.modifiers)
        }
    }
}
