package napari_hcs.fiji;

import ij.CompositeImage;
import ij.ImagePlus;
import ij.gui.Overlay;
import ij.gui.Roi;
import ij.measure.ResultsTable;
import ij.process.LUT;
import java.awt.EventQueue;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * What arrived from a stream: one ImagePlus per image/labels message, ROIs on the overlay of
 * their well's image, tables, statuses. With `show`, images and tables open in the GUI.
 */
public final class ReceivedResults implements Consumer<WireMessage> {
    private final boolean show;
    private final Consumer<String> log;
    private final List<ImagePlus> images = new ArrayList<>();
    private final Map<String, ImagePlus> imageOfWell = new LinkedHashMap<>();
    private final List<Map<String, Object>> tables = new ArrayList<>();
    private final List<Map<String, Object>> statuses = new ArrayList<>();
    private int unplacedRois;
    private int progress;

    public ReceivedResults(boolean show, Consumer<String> log) {
        this.show = show;
        this.log = log;
    }

    @Override
    public synchronized void accept(WireMessage m) {
        switch (m.kind) {
            case "image":
            case "labels": {
                ImagePlus imp = WireToImageJ.toImagePlus(m);
                images.add(imp);
                if ("image".equals(m.kind)) {
                    imageOfWell.put(m.well, imp);
                }
                log.accept("napari-hcs: " + m.kind + " '" + imp.getTitle() + "' "
                        + imp.getWidth() + "x" + imp.getHeight() + ", " + imp.getNChannels()
                        + " channel(s), " + imp.getNSlices() + " slice(s)");
                if (show) {
                    EventQueue.invokeLater(imp::show);
                }
                break;
            }
            case "rois": {
                List<Roi> rois = WireToImageJ.toRois(m);
                ImagePlus target = imageOfWell.get(m.well);
                if (target == null) {
                    unplacedRois += rois.size();
                    log.accept("napari-hcs: " + rois.size() + " rois '" + m.name + "' of well "
                            + m.well + " arrived before any image; not shown");
                    break;
                }
                Overlay overlay = target.getOverlay() != null ? target.getOverlay() : new Overlay();
                for (Roi roi : rois) {
                    overlay.add(roi);
                }
                target.setOverlay(overlay);
                log.accept("napari-hcs: " + rois.size() + " rois '" + m.name + "' on '"
                        + target.getTitle() + "'");
                break;
            }
            case "table": {
                ResultsTable table = WireToImageJ.toResultsTable(m);
                Map<String, Object> entry = new LinkedHashMap<>();
                entry.put("name", m.name);
                entry.put("well", m.well);
                entry.put("rows", (long) table.size());
                entry.put("columns", m.header.get("columns"));
                tables.add(entry);
                log.accept("napari-hcs: table '" + m.name + "' of well " + m.well + ", "
                        + table.size() + " rows");
                if (show) {
                    String title = m.name + " " + m.well;
                    EventQueue.invokeLater(() -> table.show(title));
                }
                break;
            }
            case "status": {
                Map<String, Object> entry = new LinkedHashMap<>();
                entry.put("well", m.well);
                entry.put("status", m.string("status"));
                entry.put("error", m.string("error"));
                statuses.add(entry);
                log.accept("napari-hcs: well " + m.well + " " + m.string("status")
                        + (m.string("error") != null ? ": " + m.string("error") : ""));
                break;
            }
            default:
                progress++;
        }
    }

    public synchronized int statusCount() {
        return statuses.size();
    }

    /** How `imp` is shown: per channel its LUT's full colour and display range; for a LUT
     *  that is no single-colour ramp (labels), its entry 0 and how many distinct colours. */
    private static void display(ImagePlus imp, Map<String, Object> e) {
        List<Object> colors = new ArrayList<>();
        List<Object> ranges = new ArrayList<>();
        LUT[] luts = imp.isComposite() ? ((CompositeImage) imp).getLuts()
                : new LUT[] {imp.getProcessor().getLut()};
        for (LUT lut : luts) {
            colors.add(ChannelDisplay.hex(lut));
            double lo = imp.isComposite() ? lut.min : imp.getDisplayRangeMin();
            double hi = imp.isComposite() ? lut.max : imp.getDisplayRangeMax();
            ranges.add(Arrays.asList(lo, hi));
        }
        e.put("channel_colors", colors);
        e.put("display_ranges", ranges);
        LUT first = luts[0];
        Set<Integer> distinct = new HashSet<>();
        for (int i = 1; i < 256; i++) {
            distinct.add(first.getRGB(i) & 0xFFFFFF);
        }
        e.put("lut_zero", String.format("#%06X", first.getRGB(0) & 0xFFFFFF));
        e.put("lut_distinct", (long) distinct.size());
    }

    /** The headless report: one entry per image with dimensions, checksum and ROI count. */
    public synchronized Map<String, Object> report() {
        List<Object> imageEntries = new ArrayList<>();
        for (ImagePlus imp : images) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("title", imp.getTitle());
            e.put("width", (long) imp.getWidth());
            e.put("height", (long) imp.getHeight());
            e.put("channels", (long) imp.getNChannels());
            e.put("slices", (long) imp.getNSlices());
            e.put("bit_depth", (long) imp.getBitDepth());
            e.put("checksum", WireToImageJ.checksum(imp));
            e.put("rois", (long) (imp.getOverlay() == null ? 0 : imp.getOverlay().size()));
            e.put("pixel_width", imp.getCalibration().pixelWidth);
            e.put("unit", imp.getCalibration().getUnit());
            List<Object> labels = new ArrayList<>();
            for (int c = 1; c <= imp.getNChannels(); c++) {
                labels.add(imp.getStack().getSliceLabel(imp.getStackIndex(c, 1, 1)));
            }
            e.put("slice_labels", labels);
            display(imp, e);
            imageEntries.add(e);
        }
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("images", imageEntries);
        report.put("tables", new ArrayList<Object>(tables));
        report.put("statuses", new ArrayList<Object>(statuses));
        report.put("unplaced_rois", (long) unplacedRois);
        report.put("progress_messages", (long) progress);
        return report;
    }
}
