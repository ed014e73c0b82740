import QtQuick
import QtQuick.Controls
import QtTest
import Papillon

// The Train page as a user drives it: a short run on Fashion-MNIST from the Start button, the loss
// curve and a sample grid appear, Stop is only offered while it runs, and "Open this model" hands
// the checkpoint to the Generate page.
Item {
    id: root
    width: 1000
    height: 700

    TrainPage {
        id: page
        anchors.fill: parent
    }
    SignalSpy {
        id: openSpy
        target: page
        signalName: "openModelRequested"
    }

    TestCase {
        name: "TrainPage"
        when: windowShown

        function test_a_short_run_from_the_start_button() {
            if (!TrainController.fashionMnistInstalled)
                skip("dataset-fashion-mnist is not installed")
            TrainController.setDataFolder("fashion-mnist")
            TrainController.preset = "tiny"
            TrainController.resolution = 28
            TrainController.steps = 4
            TrainController.batchSize = 4
            TrainController.sampleEvery = 2
            TrainController.checkpointEvery = 0
            TrainController.setOutputFolder(tempDir + "/train-page-run")

            const start = findChild(page, "trainStartButton")
            const stop = findChild(page, "trainStopButton")
            verify(start.enabled)
            verify(!stop.enabled)
            mouseClick(start)
            verify(TrainController.running)
            verify(!start.enabled)
            tryCompare(TrainController, "running", false, 120000)
            compare(TrainController.errorText, "")
            compare(TrainController.stepsDone, 4)
            compare(TrainController.lossCount, 4)
            const curve = TrainController.lossCurve(100)
            compare(curve.length, 4)
            verify(curve[0].y > 0)
            compare(TrainController.sampleStep, 4)
            const sample = findChild(page, "trainSample")
            tryCompare(sample, "status", Image.Ready)
            verify(sample.sourceSize.width > 28)
            verify(TrainController.checkpointDir.endsWith("/checkpoint"))

            openSpy.clear()
            mouseClick(findChild(page, "trainOpenButton"))
            compare(openSpy.count, 1)
            compare(openSpy.signalArguments[0][0], TrainController.checkpointDir)
        }
    }
}
