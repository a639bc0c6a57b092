package napari_hcs.fiji;

import ij.CompositeImage;
import ij.ImagePlus;
import ij.process.LUT;
import java.awt.Color;
import java.util.List;
import java.util.Map;

/**
 * An image message's display hints (docs/wire.md): `channel_colors` become one LUT per
 * channel, `contrast_limits` each channel's display range, so Fiji shows the plate's colours
 * (napari's, for the same plate) instead of ImageJ's red/green/blue by position.
 * WireMessage has validated both fields when present.
 */
final class ChannelDisplay {
    private ChannelDisplay() {
    }

    static void apply(ImagePlus imp, Map<String, Object> header) {
        List<?> colors = (List<?>) header.get("channel_colors");
        List<?> limits = (List<?>) header.get("contrast_limits");
        for (int c = 0; c < imp.getNChannels(); c++) {
            LUT lut = colors != null ? LUT.createLutFromColor(color((String) colors.get(c)))
                    : null;
            double[] range = limits != null ? range((List<?>) limits.get(c)) : null;
            if (imp instanceof CompositeImage) {
                CompositeImage composite = (CompositeImage) imp;
                LUT channelLut = lut != null ? lut : composite.getChannelLut(c + 1);
                if (range != null) {
                    channelLut.min = range[0];
                    channelLut.max = range[1];
                }
                composite.setChannelLut(channelLut, c + 1);
            } else {
                if (lut != null) {
                    imp.setLut(lut);
                }
                if (range != null) {
                    imp.setDisplayRange(range[0], range[1]);
                }
            }
        }
    }

    /** "#RRGGBB" (checked by WireMessage) as a Color. */
    static Color color(String hex) {
        return new Color(Integer.parseInt(hex.substring(1), 16));
    }

    private static double[] range(List<?> pair) {
        return new double[] {((Number) pair.get(0)).doubleValue(),
            ((Number) pair.get(1)).doubleValue()};
    }

    /** The colour a channel's LUT ends on (its colour at full intensity), as "#RRGGBB". */
    static String hex(LUT lut) {
        return String.format("#%06X", lut.getRGB(255) & 0xFFFFFF);
    }
}
