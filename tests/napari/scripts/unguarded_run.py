# A user's script as a newcomer writes it: no `if __name__ == "__main__":` guard. Every time
# this file runs it appends its pid to MARKER; workers that re-ran it would append theirs (and
# open a napari window each, then block in napari.run()).
import json
import os
import sys

import napari
from qtpy.QtCore import QTimer

from napari_hcs.napari.docks.hcs_dock import HcsDock

plate, marker, result = sys.argv[1:4]
with open(marker, "a") as file:
    file.write(f"{os.getpid()}\n")

viewer = napari.Viewer()
viewer.open(plate, plugin="napari-hcs")
dock = HcsDock(viewer)
viewer.window.add_dock_widget(dock, name="napari HCS")
dock.run.workers.setValue(2)


def finish_when_done() -> None:
    run = dock.run
    if run.worker is not None or run.report is None:
        return
    poll.stop()
    from qtpy.QtWidgets import QApplication, QMainWindow

    windows = [w for w in QApplication.topLevelWidgets()
               if isinstance(w, QMainWindow) and w.isVisible()]
    report = {"ok": run.report.ok, "failed": {w: str(e) for w, e in run.report.failed.items()},
              "windows": len(windows), "status": run.status.text(),
              "code": sys.modules[type(run).__module__].__file__}
    with open(result, "w") as file:
        json.dump(report, file)
    viewer.close()


poll = QTimer()
QTimer.singleShot(300, dock.run.run_button.click)
poll.timeout.connect(finish_when_done)
poll.start(200)
napari.run()
