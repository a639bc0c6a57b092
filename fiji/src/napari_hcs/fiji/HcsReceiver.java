package napari_hcs.fiji;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.zeromq.ZMQ;

/**
 * Connects a PULL socket to a napari-hcs publisher and hands each decoded message to a sink.
 *
 * The receiver connects (the run binds with --stream-bind): Debian's JeroMQ 0.3.6 only
 * interoperates with libzmq in that direction. Bad messages are logged and counted, never
 * thrown; the loop ends only on stop().
 */
public final class HcsReceiver implements Runnable {
    public static final String DEFAULT_ADDRESS = "tcp://127.0.0.1:7448";
    static final long MAX_MESSAGE_BYTES = Integer.MAX_VALUE;

    private final String address;
    private final Consumer<WireMessage> sink;
    private final Consumer<String> log;
    private volatile boolean running;
    private Thread thread;
    private volatile int received;
    private volatile int rejected;

    public HcsReceiver(String address, Consumer<WireMessage> sink, Consumer<String> log) {
        this.address = address;
        this.sink = sink;
        this.log = log;
    }

    public String address() {
        return address;
    }

    public int received() {
        return received;
    }

    public int rejected() {
        return rejected;
    }

    public synchronized void start() {
        if (thread != null) {
            return;
        }
        running = true;
        thread = new Thread(this, "napari-hcs receiver " + address);
        thread.setDaemon(true);
        thread.start();
    }

    /** Stops the loop and waits for the socket to close. */
    public synchronized void stop() {
        running = false;
        if (thread != null) {
            try {
                thread.join(5000);
            } catch (InterruptedException ex) {
                Thread.currentThread().interrupt();
            }
            thread = null;
        }
    }

    public boolean isRunning() {
        return running;
    }

    @Override
    public void run() {
        ZMQ.Context context = ZMQ.context(1);
        ZMQ.Socket socket = context.socket(ZMQ.PULL);
        try {
            socket.setLinger(0);
            socket.setRcvHWM(10);
            socket.setMaxMsgSize(MAX_MESSAGE_BYTES);
            // Short timeouts so stop() is noticed promptly.
            socket.setReceiveTimeOut(200);
            socket.connect(address);
            log.accept("napari-hcs: receiving from " + address);
            while (running) {
                byte[] first = socket.recv(0);
                if (first == null) {
                    continue;
                }
                List<byte[]> frames = new ArrayList<>();
                frames.add(first);
                while (socket.hasReceiveMore()) {
                    frames.add(socket.recv(0));
                }
                handle(frames);
            }
        } catch (RuntimeException ex) {
            log.accept("napari-hcs: receiver stopped: " + ex);
        } finally {
            running = false;
            socket.close();
            context.term();
            log.accept("napari-hcs: receiver on " + address + " closed (" + received
                    + " messages, " + rejected + " rejected)");
        }
    }

    void handle(List<byte[]> frames) {
        WireMessage message;
        try {
            message = WireMessage.decode(frames);
        } catch (WireMessage.WireException ex) {
            rejected++;
            log.accept("napari-hcs: rejected a message: " + ex.getMessage());
            return;
        }
        received++;
        try {
            sink.accept(message);
        } catch (RuntimeException ex) {
            log.accept("napari-hcs: could not show " + message.kind + " " + message.name
                    + " of well " + message.well + ": " + ex);
        }
    }
}
