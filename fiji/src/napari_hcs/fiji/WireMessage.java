package napari_hcs.fiji;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * One decoded wire message (docs/wire.md): the JSON header and its little-endian buffers.
 *
 * Mirrors the checks of napari_hcs.bridge.protocol.decode: version, kind, required fields,
 * dtype allow-list, frame count, and each buffer's byte size against its shape.
 */
public final class WireMessage {
    public static final int VERSION = 1;
    public static final int MAX_FRAMES = 16385; // one buffer per numeric table column (profiles)
    static final List<String> KINDS =
            Arrays.asList("image", "labels", "rois", "table", "progress", "status");
    static final Map<String, Integer> ITEMSIZE = new HashMap<>();

    static {
        String[] names = {"bool", "uint8", "int8", "uint16", "int16", "uint32", "int32",
            "uint64", "int64", "float32", "float64"};
        int[] sizes = {1, 1, 1, 2, 2, 4, 4, 8, 8, 4, 8};
        for (int i = 0; i < names.length; i++) {
            ITEMSIZE.put(names[i], sizes[i]);
        }
    }

    /** One buffer frame: its name, dtype name, shape and bytes (little-endian view). */
    public static final class Buffer {
        public final String name;
        public final String dtype;
        public final int[] shape;
        public final ByteBuffer data;

        Buffer(String name, String dtype, int[] shape, ByteBuffer data) {
            this.name = name;
            this.dtype = dtype;
            this.shape = shape;
            this.data = data;
        }

        public int count() {
            int n = 1;
            for (int s : shape) {
                n *= s;
            }
            return n;
        }
    }

    public final Map<String, Object> header;
    public final String kind;
    public final String name;
    public final String well;
    public final List<Buffer> buffers;

    private WireMessage(Map<String, Object> header, List<Buffer> buffers) {
        this.header = header;
        this.kind = (String) header.get("kind");
        this.name = (String) header.get("name");
        this.well = (String) header.get("well");
        this.buffers = buffers;
    }

    public Buffer buffer(String bufferName) {
        for (Buffer b : buffers) {
            if (b.name.equals(bufferName)) {
                return b;
            }
        }
        return null;
    }

    public String string(String key) {
        Object v = header.get(key);
        return v == null ? null : v.toString();
    }

    public long integer(String key) {
        Object v = header.get(key);
        if (!(v instanceof Long)) {
            throw new WireException(kind + " header: " + key + " must be an integer, got " + v);
        }
        return (Long) v;
    }

    /** Thrown for a message that does not follow the protocol; the text names the field. */
    public static final class WireException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        public WireException(String message) {
            super(message);
        }
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new WireException(message);
        }
    }

    @SuppressWarnings("unchecked")
    public static WireMessage decode(List<byte[]> frames) {
        require(!frames.isEmpty(), "empty message");
        require(frames.size() <= MAX_FRAMES, "too many frames: " + frames.size());
        Object parsed;
        try {
            parsed = JsonValues.parse(new String(frames.get(0), StandardCharsets.UTF_8));
        } catch (IllegalArgumentException ex) {
            throw new WireException("header is not JSON: " + ex.getMessage());
        }
        require(parsed instanceof Map, "header is not a JSON object");
        Map<String, Object> header = (Map<String, Object>) parsed;
        for (String key : new String[] {"v", "kind", "name", "well"}) {
            require(header.containsKey(key), "header lacks " + key);
        }
        require(Long.valueOf(VERSION).equals(header.get("v")),
                "unknown protocol version " + header.get("v") + " (this side speaks v1)");
        Object kind = header.get("kind");
        require(KINDS.contains(kind), "unknown message kind " + kind);
        require(header.get("name") instanceof String, kind + " header: name must be a string");
        Object well = header.get("well");
        require(well == null || well instanceof String, kind + " header: well must be a string");

        List<Map<String, Object>> specs = new ArrayList<>();
        if ("image".equals(kind) || "labels".equals(kind)) {
            Map<String, Object> spec = new HashMap<>();
            spec.put("name", "data");
            spec.put("dtype", header.get("dtype"));
            spec.put("shape", header.get("shape"));
            specs.add(spec);
            Object axes = header.get("axes");
            List<String> allowed = "image".equals(kind) ? Arrays.asList("cyx", "czyx")
                    : Arrays.asList("yx", "zyx");
            require(allowed.contains(axes), kind + " header: axes " + axes + " not in " + allowed);
            require(header.get("shape") instanceof List
                    && ((List<?>) header.get("shape")).size() == ((String) axes).length(),
                    kind + " header: shape does not match axes " + axes);
            if ("image".equals(kind)) {
                checkDisplayHints(header, ((List<?>) header.get("shape")).get(0));
            }
        } else if ("rois".equals(kind) || "table".equals(kind)) {
            Object list = header.get("buffers");
            require(list instanceof List, kind + " header: buffers must be a list");
            for (Object o : (List<Object>) list) {
                require(o instanceof Map, kind + " header: buffers must be objects");
                specs.add((Map<String, Object>) o);
            }
        }
        require(frames.size() - 1 == specs.size(), kind + " " + header.get("name") + " of well "
                + well + ": " + (frames.size() - 1) + " buffer frames, header describes "
                + specs.size());
        List<Buffer> buffers = new ArrayList<>();
        for (int i = 0; i < specs.size(); i++) {
            buffers.add(buffer(specs.get(i), frames.get(i + 1), (String) kind));
        }
        return new WireMessage(header, buffers);
    }

    /** The optional `channel_colors` ("#RRGGBB" each) and `contrast_limits` ([lo, hi] each,
     *  lo < hi): null, or one entry per channel. */
    private static void checkDisplayHints(Map<String, Object> header, Object channels) {
        Object colors = header.get("channel_colors");
        require(colors == null || (colors instanceof List
                && Long.valueOf(((List<?>) colors).size()).equals(channels)),
                "image header: channel_colors must list one colour per channel");
        if (colors != null) {
            for (Object c : (List<?>) colors) {
                require(c instanceof String && ((String) c).matches("#[0-9A-Fa-f]{6}"),
                        "image header: channel colour " + c + " is not #RRGGBB");
            }
        }
        Object limits = header.get("contrast_limits");
        require(limits == null || (limits instanceof List
                && Long.valueOf(((List<?>) limits).size()).equals(channels)),
                "image header: contrast_limits must list one [lo, hi] per channel");
        if (limits != null) {
            for (Object pair : (List<?>) limits) {
                boolean ok = pair instanceof List && ((List<?>) pair).size() == 2
                        && ((List<?>) pair).get(0) instanceof Number
                        && ((List<?>) pair).get(1) instanceof Number;
                double lo = ok ? ((Number) ((List<?>) pair).get(0)).doubleValue() : 0;
                double hi = ok ? ((Number) ((List<?>) pair).get(1)).doubleValue() : 0;
                require(ok && Double.isFinite(lo) && Double.isFinite(hi) && lo < hi,
                        "image header: contrast limits " + pair + " are not [lo, hi], lo < hi");
            }
        }
    }

    private static Buffer buffer(Map<String, Object> spec, byte[] frame, String kind) {
        Object name = spec.get("name");
        Object dtype = spec.get("dtype");
        Object shapeList = spec.get("shape");
        require(name instanceof String, kind + " buffer without a name");
        require(ITEMSIZE.containsKey(dtype), kind + " buffer " + name + ": dtype " + dtype
                + " not allowed");
        require(shapeList instanceof List && ((List<?>) shapeList).size() <= 5,
                kind + " buffer " + name + ": shape must be a list of at most 5 integers");
        List<?> dims = (List<?>) shapeList;
        int[] shape = new int[dims.size()];
        long count = 1;
        for (int i = 0; i < shape.length; i++) {
            Object d = dims.get(i);
            require(d instanceof Long && (Long) d >= 0 && (Long) d <= Integer.MAX_VALUE,
                    kind + " buffer " + name + ": bad dimension " + d);
            shape[i] = (int) (long) (Long) d;
            count *= shape[i];
        }
        long expected = count * ITEMSIZE.get(dtype);
        require(frame.length == expected, kind + " buffer " + name + ": " + frame.length
                + " bytes, shape " + dims + " " + dtype + " needs " + expected);
        ByteBuffer data = ByteBuffer.wrap(frame).order(ByteOrder.LITTLE_ENDIAN);
        return new Buffer((String) name, (String) dtype, shape, data);
    }
}
