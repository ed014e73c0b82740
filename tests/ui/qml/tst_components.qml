import QtQuick
import QtQuick.Controls
import QtTest
import Papillon

// The small building blocks: SliderSpin keeps slider, spin box and value in step; the grid
// options dialog reports what the user chose; the settings dialog sets where and in what
// precision models run.
Item {
    id: root
    width: 600
    height: 400

    Component {
        id: sliderSpinComponent
        SliderSpin { width: 400; from: 1; to: 20; decimals: 1; stepSize: 0.5 }
    }
    Component {
        id: gridOptionsComponent
        GridOptionsDialog {}
    }
    Component {
        id: settingsComponent
        SettingsDialog {}
    }

    TestCase {
        name: "SliderSpin"
        when: windowShown

        function test_value_reaches_both_controls_and_edits_come_back() {
            const control = createTemporaryObject(sliderSpinComponent, root, { value: 7.5 })
            verify(control)
            const slider = control.children[0]
            const box = control.children[1]
            compare(slider.value, 7.5)
            compare(box.value, 75)          // tenths
            compare(box.displayText, Number(7.5).toLocaleString(Qt.locale(), 'f', 1))
            const moved = createTemporaryObject(signalSpyComponent, root,
                                                { target: control, signalName: "moved" })
            box.forceActiveFocus()
            box.increase()
            box.valueModified()
            compare(moved.count, 1)
            compare(moved.signalArguments[0][0], 8.0)  // one step of 0.5 up
            control.value = 3
            compare(slider.value, 3)
            compare(box.value, 30)
        }

        function test_slider_moves_are_rounded_to_the_decimals() {
            const control = createTemporaryObject(sliderSpinComponent, root, { value: 1 })
            const slider = control.children[0]
            const moved = createTemporaryObject(signalSpyComponent, root,
                                                { target: control, signalName: "moved" })
            slider.value = 12.3456
            slider.moved()
            compare(moved.count, 1)
            compare(moved.signalArguments[0][0], 12.3)
        }
    }

    Component {
        id: signalSpyComponent
        SignalSpy {}
    }

    TestCase {
        name: "GridOptionsDialog"
        when: windowShown

        function test_defaults_are_automatic_and_without_timeline() {
            const dialog = createTemporaryObject(gridOptionsComponent, root, { hasSelection: false })
            compare(dialog.columns, 0)
            compare(dialog.gridPadding, 2)
            compare(dialog.selectedOnly, false)
            compare(dialog.timelineFrames, 0)
        }

        function test_a_selection_is_used_when_there_is_one() {
            const dialog = createTemporaryObject(gridOptionsComponent, root, { hasSelection: true })
            compare(dialog.selectedOnly, true)
            dialog.hasSelection = false
            compare(dialog.selectedOnly, false)
        }
    }

    TestCase {
        name: "SettingsDialog"
        when: windowShown

        function findByName(item, name) {
            if (item.objectName === name) return item
            for (let i = 0; i < item.children.length; ++i) {
                const found = findByName(item.children[i], name)
                if (found) return found
            }
            return null
        }

        function test_device_and_precision_follow_the_controller() {
            const dialog = createTemporaryObject(settingsComponent, root)
            dialog.open()
            tryCompare(dialog, "opened", true)
            const device = findByName(dialog.contentItem, "deviceBox")
            const precision = findByName(dialog.contentItem, "precisionBox")
            verify(device && precision)
            compare(device.count, 3)
            compare(precision.count, 2)
            compare(device.currentIndex, 0)     // automatic
            compare(precision.currentIndex, 0)  // full
            precision.activated(1)
            compare(StudioController.precision, "half")
            compare(precision.currentIndex, 1)
            device.activated(1)
            compare(StudioController.computeDevice, "cpu")
            if (!StudioController.cudaAvailable) {
                device.activated(2)  // offered as "not available": nothing changes
                compare(StudioController.computeDevice, "cpu")
                compare(device.currentIndex, 1)
            }
            StudioController.computeDevice = "auto"
            StudioController.precision = "full"
            compare(device.currentIndex, 0)
            compare(precision.currentIndex, 0)
            dialog.close()
        }
    }
}
