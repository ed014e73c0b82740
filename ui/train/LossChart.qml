import QtQuick
import QtQuick.Controls
import Papillon

// The training loss (means of equal runs of steps) on a log scale, redrawn a few times a second.
Pane {
    id: chart

    property var points: []

    Connections {
        target: TrainController
        function onLossCurveChanged() {
            chart.points = TrainController.lossCurve(Math.max(2, Math.floor(canvas.width / 3)))
            canvas.requestPaint()
        }
    }

    Label {
        id: title
        text: qsTr("Loss")
        opacity: 0.75
    }
    Label {
        anchors.centerIn: canvas
        visible: chart.points.length === 0
        opacity: 0.5
        text: qsTr("The loss curve appears here once training starts.")
    }

    Canvas {
        id: canvas
        objectName: "lossCanvas"
        anchors.top: title.bottom
        anchors.left: parent.left
        anchors.right: parent.right
        anchors.bottom: parent.bottom
        anchors.topMargin: 4
        onWidthChanged: requestPaint()
        onHeightChanged: requestPaint()

        onPaint: {
            const ctx = getContext("2d")
            ctx.reset()
            const pts = chart.points
            if (pts.length < 2)
                return
            const left = 48, bottom = 18
            const w = width - left - 8, h = height - bottom - 4
            let lo = Infinity, hi = -Infinity
            for (const p of pts) {
                if (p.y > 0) { lo = Math.min(lo, p.y); hi = Math.max(hi, p.y) }
            }
            if (!(hi > 0)) return
            if (hi / lo < 1.5) { lo = lo / 1.25; hi = hi * 1.25 }
            const ly0 = Math.log(lo), ly1 = Math.log(hi)
            const x0 = pts[0].x, x1 = pts[pts.length - 1].x
            const px = (x) => left + (x1 > x0 ? (x - x0) / (x1 - x0) : 0) * w
            const py = (y) => 4 + (1 - (Math.log(Math.max(y, lo)) - ly0) / (ly1 - ly0)) * h

            const text = chart.palette.windowText
            ctx.strokeStyle = Qt.rgba(text.r, text.g, text.b, 0.25)
            ctx.fillStyle = Qt.rgba(text.r, text.g, text.b, 0.7)
            ctx.font = "11px sans-serif"
            ctx.lineWidth = 1
            for (const y of [lo, Math.sqrt(lo * hi), hi]) {
                ctx.beginPath(); ctx.moveTo(left, py(y)); ctx.lineTo(left + w, py(y)); ctx.stroke()
                ctx.fillText(y.toPrecision(3), 2, py(y) + 4)
            }
            ctx.fillText(Math.round(x0), left, height - 4)
            ctx.fillText(Math.round(x1), left + w - 30, height - 4)

            ctx.strokeStyle = chart.palette.highlight
            ctx.lineWidth = 2
            ctx.beginPath()
            ctx.moveTo(px(pts[0].x), py(pts[0].y))
            for (let i = 1; i < pts.length; ++i)
                ctx.lineTo(px(pts[i].x), py(pts[i].y))
            ctx.stroke()
        }
    }
}
