package napari_hcs.fiji;

import ij.ImagePlus;
import ij.process.LUT;

/**
 * A Glasbey-style lookup table for label images (Glasbey et al. 2007, "Colour displays for
 * categorical images"): index 0 black for the background, then 255 colours, each the one
 * farthest (CIELAB distance) from every colour chosen before it.
 *
 * Fiji ships "glasbey" LUT files, plain ImageJ 1.x does not, so the table is computed here,
 * deterministically (a fixed 16-level RGB grid, ties to the lowest index), leaving out colours
 * too dark to tell from the black background.
 */
final class LabelLut {
    static final int LEVELS = 16;
    static final double MIN_LIGHTNESS = 30;
    private static LUT table;

    private LabelLut() {
    }

    static synchronized LUT glasbey() {
        if (table == null) {
            table = build();
        }
        return (LUT) table.clone();
    }

    /**
     * Shows `imp` (a label image) with the table. Labels 1..255 get distinct colours; past 255
     * the display range stretches to the largest label, so neighbouring ids may share one.
     */
    static void apply(ImagePlus imp, double maxLabel) {
        LUT lut = glasbey();
        lut.min = 0;
        lut.max = Math.max(255, maxLabel);
        imp.setLut(lut);
        imp.setDisplayRange(lut.min, lut.max);
    }

    private static LUT build() {
        int n = LEVELS * LEVELS * LEVELS;
        double[][] lab = new double[n][];
        double[] nearest = new double[n];
        for (int i = 0; i < n; i++) {
            lab[i] = toLab(level(i / (LEVELS * LEVELS)), level((i / LEVELS) % LEVELS),
                    level(i % LEVELS));
            // too dark to see on the background: never chosen
            nearest[i] = lab[i][0] < MIN_LIGHTNESS ? -1 : distance(lab[i], toLab(0, 0, 0));
        }
        byte[] r = new byte[256];
        byte[] g = new byte[256];
        byte[] b = new byte[256];
        for (int k = 1; k < 256; k++) {
            int best = 0;
            for (int i = 1; i < n; i++) {
                if (nearest[i] > nearest[best]) {
                    best = i;
                }
            }
            r[k] = (byte) level(best / (LEVELS * LEVELS));
            g[k] = (byte) level((best / LEVELS) % LEVELS);
            b[k] = (byte) level(best % LEVELS);
            for (int i = 0; i < n; i++) {
                if (nearest[i] >= 0) {
                    nearest[i] = Math.min(nearest[i], distance(lab[i], lab[best]));
                }
            }
        }
        return new LUT(r, g, b);
    }

    private static int level(int i) {
        return i * 255 / (LEVELS - 1);
    }

    private static double distance(double[] p, double[] q) {
        double dl = p[0] - q[0];
        double da = p[1] - q[1];
        double db = p[2] - q[2];
        return Math.sqrt(dl * dl + da * da + db * db);
    }

    /** sRGB (0..255) to CIELAB under D65. */
    static double[] toLab(int red, int green, int blue) {
        double rl = linear(red);
        double gl = linear(green);
        double bl = linear(blue);
        double x = (0.4124 * rl + 0.3576 * gl + 0.1805 * bl) / 0.95047;
        double y = 0.2126 * rl + 0.7152 * gl + 0.0722 * bl;
        double z = (0.0193 * rl + 0.1192 * gl + 0.9505 * bl) / 1.08883;
        double fx = f(x);
        double fy = f(y);
        double fz = f(z);
        return new double[] {116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)};
    }

    private static double linear(int channel) {
        double c = channel / 255.0;
        return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
    }

    private static double f(double t) {
        return t > 216.0 / 24389 ? Math.cbrt(t) : (24389.0 / 27 * t + 16) / 116;
    }
}
