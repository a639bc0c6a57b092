package napari_hcs.fiji;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.Map;

/**
 * Headless receiver for tests and servers:
 * {@code java -cp napari_hcs_fiji.jar:ij.jar:jeromq.jar napari_hcs.fiji.HcsReceiverMain
 * ADDRESS REPORT.json N_WELLS [TIMEOUT_S]}.
 *
 * Receives until N_WELLS status messages arrived or the timeout passed, then writes the report
 * (atomically) and exits 0, or 1 on timeout.
 */
public final class HcsReceiverMain {
    private HcsReceiverMain() {
    }

    public static void main(String[] args) throws IOException, InterruptedException {
        if (args.length < 3) {
            System.err.println("usage: HcsReceiverMain ADDRESS REPORT.json N_WELLS [TIMEOUT_S]");
            System.exit(2);
        }
        System.setProperty("java.awt.headless", "true");
        String address = args[0];
        Path report = Paths.get(args[1]);
        int wells = Integer.parseInt(args[2]);
        double timeoutS = args.length > 3 ? Double.parseDouble(args[3]) : 120;

        ReceivedResults results = new ReceivedResults(false, System.out::println);
        HcsReceiver receiver = new HcsReceiver(address, results, System.out::println);
        receiver.start();
        long deadline = System.nanoTime() + (long) (timeoutS * 1e9);
        while (results.statusCount() < wells && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        receiver.stop();
        boolean complete = results.statusCount() >= wells;
        Map<String, Object> data = results.report();
        data.put("address", address);
        data.put("complete", complete);
        data.put("received", (long) receiver.received());
        data.put("rejected", (long) receiver.rejected());
        Path tmp = report.resolveSibling(report.getFileName() + ".tmp");
        Files.write(tmp, JsonValues.write(data).getBytes(StandardCharsets.UTF_8));
        Files.move(tmp, report, StandardCopyOption.REPLACE_EXISTING,
                StandardCopyOption.ATOMIC_MOVE);
        System.out.println("napari-hcs: wrote " + report + (complete ? "" : " (timed out)"));
        System.exit(complete ? 0 : 1);
    }
}
