using System;
using System.Collections.Generic;
using System.IO;
using SimdLstm.Onnx.Protobuf;

namespace SimdLstm.Onnx;

/// <summary>
/// Writes a <see cref="RecurrentLayer"/> or a <see cref="SequenceModel"/> as an ONNX model that ONNX Runtime runs with
/// the same outputs: one <c>LSTM</c>/<c>GRU</c>/<c>RNN</c> node per layer (GRU with <c>linear_before_reset = 1</c>,
/// PyTorch's formula), the glue PyTorch's exporter writes between stacked layers, and a <c>MatMul</c> + <c>Add</c> head.
/// </summary>
/// <remarks>
/// <para>Inputs: <c>input</c> [seq, batch, I] (or [batch, seq, I] with <see cref="OnnxExportOptions.BatchFirst"/>),
/// optionally <c>sequence_lens</c> (int32 [batch]) and <c>h0</c>/<c>c0</c> [L·D, batch, H]. Outputs: <c>output</c>
/// [seq, batch, D·H] (a model: <c>logits</c> [seq, batch, V]), <c>h_n</c> and, for an LSTM, <c>c_n</c> [L·D, batch, H],
/// PyTorch's layouts and names.</para>
/// <para>ONNX's recurrent nodes have no projection, so a layer with <c>proj_size</c> cannot be written. Dropout is a
/// training-time operation and is not written.</para>
/// </remarks>
public static class OnnxExport
{
    /// <summary>The ONNX model of <paramref name="layer"/>.</summary>
    /// <exception cref="NotSupportedException">The layer has a projection.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The opset is below 14.</exception>
    public static byte[] ToBytes(RecurrentLayer layer, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(layer);
        return OnnxWriter.WriteModel(Build(layer, null, options ?? new OnnxExportOptions()));
    }

    /// <summary>The ONNX model of <paramref name="model"/>: its recurrent layers and its head, the logits of every step.</summary>
    /// <exception cref="NotSupportedException">The model has a projection.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The opset is below 14.</exception>
    public static byte[] ToBytes(SequenceModel model, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return OnnxWriter.WriteModel(Build(model.Recurrent, model.Head, options ?? new OnnxExportOptions()));
    }

    /// <summary>Writes the ONNX model of <paramref name="layer"/> to <paramref name="path"/>.</summary>
    public static void Save(RecurrentLayer layer, string path, OnnxExportOptions? options = null) => File.WriteAllBytes(path, ToBytes(layer, options));

    /// <summary>Writes the ONNX model of <paramref name="model"/> to <paramref name="path"/>.</summary>
    public static void Save(SequenceModel model, string path, OnnxExportOptions? options = null) => File.WriteAllBytes(path, ToBytes(model, options));

    private static OnnxModelProto Build(RecurrentLayer layer, Linear? head, OnnxExportOptions options)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Opset, 14, nameof(options));
        ArgumentException.ThrowIfNullOrEmpty(options.InputName, nameof(options));
        RecurrentOptions o = layer.Options;
        if (o.ProjectionSize > 0)
            throw new NotSupportedException($"A layer with proj_size = {o.ProjectionSize} cannot be written as ONNX: ONNX's LSTM has no projection.");
        var graph = new OnnxGraph { Name = "simdlstm" };
        var builder = new GraphBuilder(graph);
        int d = o.NumDirections, h = o.HiddenSize, g = o.GateCount, layers = o.NumLayers;
        string[] seqDim = options.BatchFirst ? ["batch", "seq"] : ["seq", "batch"];
        graph.Inputs.Add(Value(options.InputName, OnnxDataType.Float, [seqDim[0], seqDim[1], null], [-1, -1, o.InputSize]));
        string x = options.InputName;
        if (options.BatchFirst)
            x = builder.Node("Transpose", [x], "input_time_major", ("perm", new long[] { 1, 0, 2 }));
        string lengths = "";
        if (options.SequenceLengths)
        {
            lengths = "sequence_lens";
            graph.Inputs.Add(Value(lengths, OnnxDataType.Int32, ["batch"], [-1]));
        }
        string h0 = "", c0 = "";
        if (options.InitialState)
        {
            h0 = "h0";
            graph.Inputs.Add(Value(h0, OnnxDataType.Float, [null, "batch", null], [o.StateLayers, -1, h]));
            if (o.HasCellState)
            {
                c0 = "c0";
                graph.Inputs.Add(Value(c0, OnnxDataType.Float, [null, "batch", null], [o.StateLayers, -1, h]));
            }
        }
        var finalHidden = new List<string>();
        var finalCell = new List<string>();
        string op = o.Cell switch { CellKind.Lstm => "LSTM", CellKind.Gru => "GRU", _ => "RNN" };
        RecurrentParameters p = layer.Weights;
        for (int l = 0; l < layers; l++)
        {
            int inputs = o.LayerInputSize(l);
            float[] w = new float[d * g * h * inputs];
            float[] r = new float[d * g * h * h];
            float[]? b = o.Bias ? new float[d * 2 * g * h] : null;
            for (int dir = 0; dir < d; dir++)
            {
                GateOrder.ToOnnx(o.Cell, h, inputs, p.WeightIh(l, dir), w.AsSpan(dir * g * h * inputs, g * h * inputs));
                GateOrder.ToOnnx(o.Cell, h, h, p.WeightHh(l, dir), r.AsSpan(dir * g * h * h, g * h * h));
                if (b != null)
                {
                    GateOrder.ToOnnx(o.Cell, h, 1, p.BiasIh(l, dir), b.AsSpan(dir * 2 * g * h, g * h));
                    GateOrder.ToOnnx(o.Cell, h, 1, p.BiasHh(l, dir), b.AsSpan(dir * 2 * g * h + g * h, g * h));
                }
            }
            string suffix = "_l" + l;
            string wName = builder.Initializer("W" + suffix, [d, g * h, inputs], w);
            string rName = builder.Initializer("R" + suffix, [d, g * h, h], r);
            string bName = b != null ? builder.Initializer("B" + suffix, [d, 2 * g * h], b) : "";
            string hInit = h0.Length == 0 ? "" : layers == 1 ? h0 : builder.SliceLayer(h0, l, d);
            string cInit = c0.Length == 0 ? "" : layers == 1 ? c0 : builder.SliceLayer(c0, l, d);
            var nodeInputs = new List<string> { x, wName, rName, bName, lengths, hInit };
            if (o.HasCellState)
                nodeInputs.Add(cInit);
            while (nodeInputs[^1].Length == 0)
                nodeInputs.RemoveAt(nodeInputs.Count - 1);
            string y = "Y" + suffix;
            string yh = layers == 1 ? "h_n" : "Y_h" + suffix;
            string yc = layers == 1 ? "c_n" : "Y_c" + suffix;
            var outputs = new List<string> { y, yh };
            if (o.HasCellState)
                outputs.Add(yc);
            var node = new OnnxNode { Name = op + suffix, OpType = op };
            node.Inputs.AddRange(nodeInputs);
            node.Outputs.AddRange(outputs);
            node.Attributes.Add(IntAttribute("hidden_size", h));
            if (d == 2)
                node.Attributes.Add(new OnnxAttribute { Name = "direction", Type = OnnxAttributeType.String, S = "bidirectional" });
            if (o.Cell == CellKind.Gru)
                node.Attributes.Add(IntAttribute("linear_before_reset", 1));
            if (o.Cell == CellKind.Rnn && o.Activation == RnnActivation.Relu)
            {
                var activations = new OnnxAttribute { Name = "activations", Type = OnnxAttributeType.Strings };
                for (int dir = 0; dir < d; dir++)
                    activations.Strings.Add("Relu");
                node.Attributes.Add(activations);
            }
            graph.Nodes.Add(node);
            finalHidden.Add(yh);
            finalCell.Add(yc);
            // [seq, D, batch, H] → [seq, batch, D·H], as PyTorch's exporter writes it.
            x = d == 1
                ? builder.Node("Squeeze", [y, builder.Int64s("axes_1", [1])], "X" + suffix + "_squeezed")
                : builder.Node("Reshape", [builder.Node("Transpose", [y], "X" + suffix + "_transposed", ("perm", new long[] { 0, 2, 1, 3 })), builder.Int64s("shape_00m1", [0, 0, -1])],
                    "X" + suffix + "_joined");
        }
        string output = x;
        int features = o.OutputSize;
        string outputName = head == null ? "output" : "logits";
        if (head != null)
        {
            float[] weightT = new float[head.InFeatures * head.OutFeatures];
            ReadOnlySpan<float> weight = head.Weight;
            for (int v = 0; v < head.OutFeatures; v++)
            {
                for (int k = 0; k < head.InFeatures; k++)
                    weightT[k * head.OutFeatures + v] = weight[v * head.InFeatures + k];
            }
            string wName = builder.Initializer(head.Prefix + "weight_transposed", [head.InFeatures, head.OutFeatures], weightT);
            output = builder.Node("MatMul", [output, wName], "head_product");
            if (head.HasBias)
                output = builder.Node("Add", [output, builder.Initializer(head.Prefix + "bias", [head.OutFeatures], head.Bias.ToArray())], "head_sum");
            features = head.OutFeatures;
        }
        output = options.BatchFirst
            ? builder.Node("Transpose", [output], outputName, ("perm", new long[] { 1, 0, 2 }))
            : builder.Node("Identity", [output], outputName);
        graph.Outputs.Add(Value(outputName, OnnxDataType.Float, [seqDim[0], seqDim[1], null], [-1, -1, features]));
        if (layers > 1)
        {
            builder.Node("Concat", [.. finalHidden], "h_n", ("axis", 0L));
            if (o.HasCellState)
                builder.Node("Concat", [.. finalCell], "c_n", ("axis", 0L));
        }
        graph.Outputs.Add(Value("h_n", OnnxDataType.Float, [null, "batch", null], [o.StateLayers, -1, h]));
        if (o.HasCellState)
            graph.Outputs.Add(Value("c_n", OnnxDataType.Float, [null, "batch", null], [o.StateLayers, -1, h]));
        var model = new OnnxModelProto { IrVersion = 8, ProducerName = "SimdLstm.Onnx", ProducerVersion = typeof(OnnxExport).Assembly.GetName().Version?.ToString() ?? "" };
        model.Opsets[""] = options.Opset;
        model.Graph = graph;
        return model;
    }

    private static OnnxAttribute IntAttribute(string name, long value) => new() { Name = name, Type = OnnxAttributeType.Int, I = value };

    private static OnnxValueInfo Value(string name, int type, string?[] dimNames, long[] dims) =>
        new() { Name = name, ElementType = type, Dims = dims, DimNames = dimNames };

    // Adds nodes and initializers to a graph under unique names.
    private sealed class GraphBuilder(OnnxGraph graph)
    {
        private readonly HashSet<string> _constants = [];

        public string Initializer(string name, long[] dims, float[] values)
        {
            graph.Initializers.Add(new OnnxTensor { Name = name, DataType = OnnxDataType.Float, Dims = dims, Floats = values });
            return name;
        }

        public string Int64s(string name, long[] values)
        {
            if (_constants.Add(name))
                graph.Initializers.Add(new OnnxTensor { Name = name, DataType = OnnxDataType.Int64, Dims = [values.Length], Integers = values });
            return name;
        }

        public string Node(string op, string[] inputs, string output, params (string Name, object Value)[] attributes)
        {
            var node = new OnnxNode { Name = op + "_" + output, OpType = op };
            node.Inputs.AddRange(inputs);
            node.Outputs.Add(output);
            foreach ((string name, object value) in attributes)
            {
                node.Attributes.Add(value switch
                {
                    long i => IntAttribute(name, i),
                    long[] ints => Ints(name, ints),
                    _ => throw new ArgumentException("Unsupported attribute value.", nameof(attributes)),
                });
            }
            graph.Nodes.Add(node);
            return output;
        }

        // Rows l·D … l·D + D − 1 of a [L·D, batch, H] state: layer l's initial state.
        public string SliceLayer(string state, int layer, int directions) =>
            Node("Slice", [state, Int64s("starts_" + layer * directions, [layer * directions]), Int64s("ends_" + (layer + 1) * directions, [(layer + 1) * directions]), Int64s("axes_0", [0])],
                state + "_l" + layer);

        private static OnnxAttribute Ints(string name, long[] values)
        {
            var a = new OnnxAttribute { Name = name, Type = OnnxAttributeType.Ints };
            a.Ints.AddRange(values);
            return a;
        }
    }
}
