package napari_hcs.fiji;

import ij.CompositeImage;
import ij.ImagePlus;
import ij.ImageStack;
import ij.gui.PolygonRoi;
import ij.gui.Roi;
import ij.measure.Calibration;
import ij.measure.ResultsTable;
import ij.process.ByteProcessor;
import ij.process.FloatProcessor;
import ij.process.ImageProcessor;
import ij.process.ShortProcessor;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** Turns wire messages into ImageJ objects: hyperstacks, polygon ROIs, results tables. */
public final class WireToImageJ {
    private WireToImageJ() {
    }

    /**
     * An image (C,Y,X)/(C,Z,Y,X) or labels (Y,X)/(Z,Y,X) message as an ImagePlus titled
     * "NAME WELL". Image pixels: uint8 and bool become 8-bit, uint16 16-bit, every other type
     * 32-bit float; channels get the header's colours and display ranges. Labels become 16-bit
     * when every id fits (0..65535), else 32-bit, shown with a Glasbey-style LUT.
     */
    public static ImagePlus toImagePlus(WireMessage m) {
        WireMessage.Buffer data = m.buffer("data");
        int[] s = data.shape;
        boolean image = "image".equals(m.kind);
        int channels = image ? s[0] : 1;
        int slices = s.length == (image ? 4 : 3) ? s[image ? 1 : 0] : 1;
        int height = s[s.length - 2];
        int width = s[s.length - 1];
        List<?> names = image ? (List<?>) m.header.get("channel_names") : null;
        ImageStack stack = new ImageStack(width, height);
        int plane = width * height;
        double[] labelRange = image ? null : range(data);
        boolean labels16 = labelRange != null && labelRange[0] >= 0 && labelRange[1] <= 65535;
        // ImageJ orders a hyperstack channel-fastest; the wire is C-major (c, z, y, x).
        for (int z = 0; z < slices; z++) {
            for (int c = 0; c < channels; c++) {
                int index = c * slices + z;
                String label = names != null ? String.valueOf(names.get(c)) : m.name;
                stack.addSlice(label, labels16 ? shortProcessor(data, index * plane, width, height)
                        : processor(data, index * plane, width, height));
            }
        }
        String title = m.name + " " + (m.well == null ? "" : m.well);
        ImagePlus imp = new ImagePlus(title.trim(), stack);
        imp.setDimensions(channels, slices, 1);
        if (channels > 1) {
            imp = new CompositeImage(imp, CompositeImage.COMPOSITE);
        }
        if (image) {
            ChannelDisplay.apply(imp, m.header);
        } else {
            LabelLut.apply(imp, labelRange[1]);
        }
        Object pixelSize = m.header.get("pixel_size_um");
        if (pixelSize instanceof Number) {
            Calibration cal = imp.getCalibration();
            cal.pixelWidth = ((Number) pixelSize).doubleValue();
            cal.pixelHeight = cal.pixelWidth;
            cal.setUnit("micron");
        }
        imp.setProperty("Info", "napari-hcs " + m.kind + "\n" + JsonValues.write(headerSummary(m)));
        return imp;
    }

    private static Map<String, Object> headerSummary(WireMessage m) {
        Map<String, Object> copy = new java.util.LinkedHashMap<>(m.header);
        copy.remove("buffers");
        copy.remove("strings");
        return copy;
    }

    private static ImageProcessor processor(WireMessage.Buffer b, int offset, int w, int h) {
        ByteBuffer buf = b.data.duplicate().order(b.data.order());
        int n = w * h;
        switch (b.dtype) {
            case "uint8":
            case "bool": {
                byte[] px = new byte[n];
                buf.position(offset);
                buf.get(px);
                return new ByteProcessor(w, h, px, null);
            }
            case "uint16": {
                short[] px = new short[n];
                buf.position(offset * 2);
                buf.asShortBuffer().get(px);
                return new ShortProcessor(w, h, px, null);
            }
            default: {
                float[] px = new float[n];
                for (int i = 0; i < n; i++) {
                    px[i] = (float) value(b, buf, offset + i);
                }
                return new FloatProcessor(w, h, px, null);
            }
        }
    }

    /** A plane of integer labels (all within 0..65535) as 16-bit. */
    private static ImageProcessor shortProcessor(WireMessage.Buffer b, int offset, int w, int h) {
        ByteBuffer buf = b.data.duplicate().order(b.data.order());
        short[] px = new short[w * h];
        for (int i = 0; i < px.length; i++) {
            px[i] = (short) (long) value(b, buf, offset + i);
        }
        return new ShortProcessor(w, h, px, null);
    }

    /** The smallest and largest value of a buffer ({0, 0} when it is empty). */
    static double[] range(WireMessage.Buffer b) {
        int n = b.count();
        double lo = n > 0 ? value(b, b.data, 0) : 0;
        double hi = lo;
        for (int i = 1; i < n; i++) {
            double v = value(b, b.data, i);
            lo = Math.min(lo, v);
            hi = Math.max(hi, v);
        }
        return new double[] {lo, hi};
    }

    /** Element `i` of a buffer as a double, read little-endian by its dtype. */
    static double value(WireMessage.Buffer b, ByteBuffer buf, int i) {
        switch (b.dtype) {
            case "bool":
            case "uint8": return buf.get(i) & 0xff;
            case "int8": return buf.get(i);
            case "uint16": return buf.getShort(2 * i) & 0xffff;
            case "int16": return buf.getShort(2 * i);
            case "uint32": return buf.getInt(4 * i) & 0xffffffffL;
            case "int32": return buf.getInt(4 * i);
            case "uint64": {
                long v = buf.getLong(8 * i);
                return v >= 0 ? v : (double) (v >>> 1) * 2.0;
            }
            case "int64": return buf.getLong(8 * i);
            case "float32": return buf.getFloat(4 * i);
            default: return buf.getDouble(8 * i);
        }
    }

    /** A rois message as PolygonRois named "NAME LABEL" (the wire stores y, x; ImageJ x, y). */
    public static List<Roi> toRois(WireMessage m) {
        WireMessage.Buffer offsets = m.buffer("offsets");
        WireMessage.Buffer coords = m.buffer("coords");
        WireMessage.Buffer labels = m.buffer("labels");
        require(offsets != null && coords != null && labels != null,
                "rois " + m.name + ": needs offsets, coords and labels buffers");
        int n = offsets.count() - 1;
        int vertices = coords.count() / 2;
        require(labels.count() == n && "int32".equals(offsets.dtype)
                && "float32".equals(coords.dtype) && "int32".equals(labels.dtype),
                "rois " + m.name + ": int32 offsets (n+1), float32 coords, int32 labels (n)");
        List<Roi> rois = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int start = offsets.data.getInt(4 * i);
            int end = offsets.data.getInt(4 * (i + 1));
            require(0 <= start && start <= end && end <= vertices,
                    "rois " + m.name + ": offsets out of range");
            float[] xs = new float[end - start];
            float[] ys = new float[end - start];
            for (int k = start; k < end; k++) {
                ys[k - start] = coords.data.getFloat(8 * k);
                xs[k - start] = coords.data.getFloat(8 * k + 4);
            }
            Roi roi = new PolygonRoi(xs, ys, Roi.POLYGON);
            roi.setName(m.name + " " + labels.data.getInt(4 * i));
            rois.add(roi);
        }
        return rois;
    }

    /** A table message as a ResultsTable, columns in the sender's order. */
    public static ResultsTable toResultsTable(WireMessage m) {
        int rows = (int) m.integer("n_rows");
        Map<?, ?> strings = (Map<?, ?>) m.header.get("strings");
        ResultsTable table = new ResultsTable();
        for (int r = 0; r < rows; r++) {
            table.incrementCounter();
        }
        for (Object column : (List<?>) m.header.get("columns")) {
            String col = String.valueOf(column);
            WireMessage.Buffer b = m.buffer(col);
            for (int r = 0; r < rows; r++) {
                if (b != null) {
                    table.setValue(col, r, value(b, b.data, r));
                } else {
                    Object v = ((List<?>) strings.get(col)).get(r);
                    table.setValue(col, r, v == null ? "" : v.toString());
                }
            }
        }
        return table;
    }

    /** The report's checksum: the sum of every pixel value of every plane, as a double. */
    public static double checksum(ImagePlus imp) {
        ImageStack stack = imp.getStack();
        double sum = 0;
        for (int i = 1; i <= stack.getSize(); i++) {
            ImageProcessor ip = stack.getProcessor(i);
            int n = ip.getWidth() * ip.getHeight();
            for (int p = 0; p < n; p++) {
                sum += ip.getf(p);
            }
        }
        return sum;
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new WireMessage.WireException(message);
        }
    }
}
