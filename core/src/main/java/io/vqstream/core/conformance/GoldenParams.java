package io.vqstream.core.conformance;

import io.vqstream.core.io.SafeTensorsFile;
import io.vqstream.core.quantize.ParamSpec;
import io.vqstream.core.quantize.Params;
import io.vqstream.core.quantize.Quantizer;
import io.vqstream.core.tensor.Shapes;
import io.vqstream.core.tensor.Tensor;
import java.util.Arrays;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Maps a conformance case's plainly named tensors ({@code codebook}, {@code codebooks},
 * {@code init.embed}, {@code group0.project_in.weight}) onto the quantizer's state_dict names.
 */
final class GoldenParams {
    private static final Pattern CODEBOOK = Pattern.compile(
            "^(?:rvqs\\.(\\d+)\\.)?(?:layers\\.(\\d+)\\.)?(?:vq\\.)?_codebook\\.(embed|embed_avg|cluster_size|initted)$");
    /** Buffers unset before the first call in the reference (affine statistics): the port's initial value. */
    private static final Pattern UNSET_BEFORE_FIRST_CALL = Pattern.compile("^.*_codebook\\.(batch|codebook)_(mean|variance)$");
    private static final Pattern GROUP = Pattern.compile("^rvqs\\.(\\d+)\\.(.*)$");

    private GoldenParams() {}

    /**
     * Parameters for {@code q} from the case file. {@code statePrefix} is {@code "init."} to
     * start a training chain, or {@code "stepK.init."} to reset before step K.
     */
    static Params build(Quantizer q, SafeTensorsFile f, String statePrefix) {
        Params p = new Params();
        for (ParamSpec s : q.parameterSpecs()) {
            p.put(s.name(), tensorFor(q, f, s, statePrefix));
        }
        return p;
    }

    /** Whether the file carries a state to reset to under {@code statePrefix}. */
    static boolean hasState(SafeTensorsFile f, String statePrefix) {
        return f.contains(statePrefix + "embed");
    }

    private static Tensor tensorFor(Quantizer q, SafeTensorsFile f, ParamSpec s, String statePrefix) {
        String name = s.name();
        if (f.contains(name)) {
            return fit(s, f.anyAsFloat(name));
        }
        Matcher g = GROUP.matcher(name);
        if (g.matches() && f.contains("group" + g.group(1) + "." + g.group(2))) {
            return fit(s, f.anyAsFloat("group" + g.group(1) + "." + g.group(2)));
        }
        Matcher m = CODEBOOK.matcher(name);
        if (m.matches()) {
            int group = m.group(1) == null ? -1 : Integer.parseInt(m.group(1));
            int layer = m.group(2) == null ? -1 : Integer.parseInt(m.group(2));
            String field = m.group(3);
            String stateName = statePrefix + field;
            if (f.contains(stateName)) {
                return fit(s, slice(f.anyAsFloat(stateName), group, layer, s.shape()));
            }
            Tensor embed = null;
            if (f.contains(statePrefix + "embed")) {
                embed = slice(f.anyAsFloat(statePrefix + "embed"), group, layer, shapeOfEmbed(q, name));
            } else if (f.contains("codebooks")) {
                embed = slice(f.anyAsFloat("codebooks"), group, layer, shapeOfEmbed(q, name));
            } else if (f.contains("codebook")) {
                embed = slice(f.anyAsFloat("codebook"), group, layer, shapeOfEmbed(q, name));
            }
            switch (field) {
                case "embed", "embed_avg" -> {
                    if (embed == null) {
                        throw new IllegalArgumentException(f.source() + ": no codebook tensor for '" + name + "'");
                    }
                    return fit(s, embed.copy());
                }
                case "cluster_size" -> {
                    Tensor t = Tensor.zeros(s.shape());
                    Arrays.fill(t.data(), 1f);
                    return t;
                }
                case "initted" -> {
                    Tensor t = Tensor.zeros(s.shape());
                    t.data()[0] = 1f;
                    return t;
                }
                default -> throw new IllegalStateException(field);
            }
        }
        if (UNSET_BEFORE_FIRST_CALL.matcher(name).matches()) {
            return q.initParams(0).get(name);
        }
        throw new IllegalArgumentException(f.source() + ": no tensor for parameter '" + name + "'");
    }

    private static int[] shapeOfEmbed(Quantizer q, String name) {
        String embedName = name.replaceAll("(embed_avg|cluster_size|initted)$", "embed");
        for (ParamSpec s : q.parameterSpecs()) {
            if (s.name().equals(embedName)) {
                return s.shape();
            }
        }
        throw new IllegalArgumentException("no embed for " + name);
    }

    /**
     * Picks group {@code g} / layer {@code l} out of a stacked tensor when it holds more elements
     * than the target: stacked layouts are (g, q, ...), (q, ...) or, for a shared codebook,
     * the single codebook used by every layer.
     */
    private static Tensor slice(Tensor t, int group, int layer, int[] target) {
        long want = Shapes.numel(target);
        if (t.size() == want) {
            return t;
        }
        Tensor cur = t;
        if (group >= 0 && cur.size() > want) {
            cur = cur.select0(group);
        }
        if (layer >= 0 && cur.size() > want) {
            cur = cur.select0(layer);
        }
        if (cur.size() != want) {
            throw new IllegalArgumentException("cannot take " + Shapes.str(target) + " out of " + Shapes.str(t.shape()));
        }
        return cur;
    }

    private static Tensor fit(ParamSpec s, Tensor t) {
        if (Arrays.equals(t.shape(), s.shape())) {
            return t;
        }
        if (Shapes.numel(s.shape()) == t.size()) {
            return t.reshape(s.shape());
        }
        throw new IllegalArgumentException("tensor for '" + s.name() + "' has shape " + Shapes.str(t.shape())
                + ", expected " + Shapes.str(s.shape()));
    }
}
