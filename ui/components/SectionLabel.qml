import QtQuick
import QtQuick.Controls

// A small bold caption above a group of controls.
Label {
    font.bold: true
    topPadding: 6
    opacity: 0.85
}
