import QtQuick
import QtQuick.Controls
import QtQuick.Layouts

// A slider and a spin box bound to one value. `decimals` > 0 gives a real-valued control (the spin
// box counts in steps of 10^-decimals).
RowLayout {
    id: root

    property real from: 0
    property real to: 100
    property real value: 0
    property int decimals: 0
    property real stepSize: decimals > 0 ? Math.pow(10, -decimals) : 1
    readonly property real factor: Math.pow(10, decimals)
    signal moved(real value)

    spacing: 8

    Slider {
        id: slider
        Layout.fillWidth: true
        from: root.from
        to: root.to
        stepSize: root.stepSize
        value: root.value
        onMoved: root.moved(Number(value.toFixed(root.decimals)))
    }
    SpinBox {
        id: spin
        Layout.preferredWidth: 110
        from: Math.round(root.from * root.factor)
        to: Math.round(root.to * root.factor)
        stepSize: Math.max(1, Math.round(root.stepSize * root.factor))
        value: Math.round(root.value * root.factor)
        editable: true
        textFromValue: function(v, locale) {
            return Number(v / root.factor).toLocaleString(locale, 'f', root.decimals)
        }
        valueFromText: function(text, locale) {
            return Math.round(Number.fromLocaleString(locale, text) * root.factor)
        }
        onValueModified: root.moved(value / root.factor)
    }
}
