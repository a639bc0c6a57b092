package napari_hcs.fiji;

import ij.IJ;
import ij.Prefs;
import ij.gui.GenericDialog;
import ij.plugin.PlugIn;

/**
 * The menu commands Plugins > napari-hcs > Start / Stop stream receiver.
 *
 * Start asks for the address of a run started with `napari-hcs run ... --stream-bind ADDR`
 * and connects to it; images, labels, ROIs and tables open as they arrive.
 */
public class HcsStreamPlugin implements PlugIn {
    private static final String PREF = "napari_hcs.address";
    private static HcsReceiver receiver;

    @Override
    public void run(String arg) {
        if ("stop".equals(arg)) {
            stop();
            return;
        }
        GenericDialog dialog = new GenericDialog("napari-hcs stream receiver");
        dialog.addStringField("Address", Prefs.get(PREF, HcsReceiver.DEFAULT_ADDRESS), 28);
        dialog.addMessage("Start the run with: napari-hcs run PIPELINE PLATE --out OUT\n"
                + "    --stream-bind tcp://127.0.0.1:7448");
        dialog.showDialog();
        if (dialog.wasCanceled()) {
            return;
        }
        String address = dialog.getNextString().trim();
        Prefs.set(PREF, address);
        start(address);
    }

    static synchronized void start(String address) {
        if (receiver != null && receiver.isRunning()) {
            IJ.log("napari-hcs: already receiving from " + receiver.address()
                    + "; stop it first");
            return;
        }
        receiver = new HcsReceiver(address, new ReceivedResults(true, IJ::log), IJ::log);
        receiver.start();
    }

    static synchronized void stop() {
        if (receiver == null) {
            IJ.log("napari-hcs: no stream receiver is running");
            return;
        }
        receiver.stop();
        receiver = null;
    }
}
