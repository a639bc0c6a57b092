package napari_hcs.fiji;

import com.google.gson.GsonBuilder;
import com.google.gson.stream.JsonReader;
import com.google.gson.stream.JsonToken;
import java.io.IOException;
import java.io.StringReader;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * JSON through Gson (which Fiji ships in jars/): wire headers in, reports out.
 *
 * Headers become plain Java values, as WireMessage checks them: objects LinkedHashMap (key
 * order kept), arrays ArrayList, integral numbers Long, other numbers Double. Parsing uses
 * Gson's streaming reader, strict by default (no NaN, no comments, no unquoted names); it is
 * Gson's oldest, most stable API, so whichever Gson a Fiji has works. The tree is built here
 * with a nesting limit, so a hostile header cannot exhaust the stack.
 */
public final class JsonValues {
    static final int MAX_DEPTH = 64;

    private JsonValues() {
    }

    /** One JSON value; IllegalArgumentException saying what is wrong on bad input. */
    public static Object parse(String text) {
        try (JsonReader reader = new JsonReader(new StringReader(text))) {
            Object value = read(reader, 0);
            if (reader.peek() != JsonToken.END_DOCUMENT) {
                throw new IllegalArgumentException("trailing data after the JSON value");
            }
            return value;
        } catch (IOException | IllegalStateException | NumberFormatException ex) {
            throw new IllegalArgumentException(ex.getMessage());
        }
    }

    private static Object read(JsonReader reader, int depth) throws IOException {
        if (depth > MAX_DEPTH) {
            throw new IllegalArgumentException("nested deeper than " + MAX_DEPTH);
        }
        switch (reader.peek()) {
            case BEGIN_OBJECT: {
                Map<String, Object> object = new LinkedHashMap<>();
                reader.beginObject();
                while (reader.hasNext()) {
                    String key = reader.nextName();
                    object.put(key, read(reader, depth + 1));
                }
                reader.endObject();
                return object;
            }
            case BEGIN_ARRAY: {
                List<Object> array = new ArrayList<>();
                reader.beginArray();
                while (reader.hasNext()) {
                    array.add(read(reader, depth + 1));
                }
                reader.endArray();
                return array;
            }
            case STRING:
                return reader.nextString();
            case NUMBER:
                return number(reader.nextString());
            case BOOLEAN:
                return reader.nextBoolean();
            case NULL:
                reader.nextNull();
                return null;
            default:
                throw new IllegalArgumentException("unexpected " + reader.peek());
        }
    }

    private static Object number(String literal) {
        boolean integral = literal.indexOf('.') < 0 && literal.indexOf('e') < 0
                && literal.indexOf('E') < 0;
        if (integral) {
            try {
                return Long.parseLong(literal);
            } catch (NumberFormatException tooLarge) {
                // beyond a long: keep it as a double, like Python's json would a float
            }
        }
        return Double.parseDouble(literal);
    }

    /** Plain Java values (maps, lists, numbers, strings, booleans, null) as JSON text. */
    public static String write(Object value) {
        return new GsonBuilder().serializeNulls().serializeSpecialFloatingPointValues()
                .disableHtmlEscaping().create().toJson(value);
    }
}
