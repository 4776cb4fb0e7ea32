using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace SimdLstm.Benchmarks.Peers;

/// <summary>
/// A minimal protocol-buffers writer, enough for the few ONNX messages a one-node LSTM or GRU graph needs. Wire format (varints,
/// length-delimited fields, packed repeated scalars) as documented at protobuf.dev/programming-guides/encoding.
/// </summary>
internal sealed class ProtoWriter
{
    private readonly MemoryStream _stream = new();

    public byte[] ToArray() => _stream.ToArray();

    public ProtoWriter Varint(int field, long value)
    {
        Tag(field, 0);
        WriteVarint((ulong)value);
        return this;
    }

    public ProtoWriter String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

    public ProtoWriter Message(int field, ProtoWriter message) => Bytes(field, message.ToArray());

    public ProtoWriter Bytes(int field, ReadOnlySpan<byte> value)
    {
        Tag(field, 2);
        WriteVarint((ulong)value.Length);
        _stream.Write(value);
        return this;
    }

    // Packed repeated int64 (the encoding proto3 uses by default for repeated scalars).
    public ProtoWriter PackedInt64(int field, IEnumerable<long> values)
    {
        var inner = new ProtoWriter();
        foreach (long v in values)
            inner.WriteVarint((ulong)v);
        return Bytes(field, inner.ToArray());
    }

    private void Tag(int field, int wireType) => WriteVarint(((ulong)field << 3) | (uint)wireType);

    private void WriteVarint(ulong value)
    {
        while (value >= 0x80)
        {
            _stream.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        _stream.WriteByte((byte)value);
    }
}

/// <summary>
/// Builds an ONNX model holding one <c>LSTM</c> or <c>GRU</c> node (or ONNX Runtime's <c>DynamicQuantizeLSTM</c>), in code. Field numbers are those of onnx/onnx.proto
/// (github.com/onnx/onnx/blob/main/onnx/onnx.proto): ModelProto ir_version 1, producer_name 2, graph 7, opset_import 8;
/// OperatorSetIdProto domain 1, version 2; GraphProto node 1, name 2, initializer 5, input 11, output 12;
/// NodeProto input 1, output 2, name 3, op_type 4, attribute 5, domain 7; AttributeProto name 1, i 3, s 4, type 20 (INT = 2, STRING = 3);
/// TensorProto dims 1, data_type 2 (FLOAT = 1, INT8 = 3, INT32 = 6), name 8, raw_data 9; ValueInfoProto name 1, type 2; TypeProto tensor_type 1;
/// TypeProto.Tensor elem_type 1, shape 2; TensorShapeProto dim 1; Dimension dim_value 1.
/// </summary>
/// <remarks>
/// <para>
/// LSTM (onnx.ai/onnx/operators/onnx__LSTM.html): inputs X [T, B, I], W [1, 4H, I], R [1, 4H, H], B [1, 8H] = [Wb, Rb],
/// sequence_lens (omitted: every sequence has length T), initial_h and initial_c [1, B, H]; outputs Y [T, 1, B, H],
/// Y_h and Y_c [1, B, H]. ONNX orders the gate blocks i, o, f, c; PyTorch (and SimdLstm) i, f, g, o.
/// </para>
/// <para>
/// GRU (onnx.ai/onnx/operators/onnx__GRU.html, and "GRU" in github.com/onnx/onnx/blob/main/docs/Operators.md): inputs
/// X [T, B, I], W [1, 3H, I] = W[zrh], R [1, 3H, H] = R[zrh], B [1, 6H] = [Wb[zrh], Rb[zrh]], sequence_lens (omitted),
/// initial_h [1, B, H]; outputs Y [T, 1, B, H] and Y_h [1, B, H]. ONNX orders the gate blocks z, r, h; PyTorch (and
/// SimdLstm) r, z, n. The spec's candidate with <c>linear_before_reset</c> ≠ 0 is
/// ht = g(Xt·Whᵀ + (rt ⊙ (Ht−1·Rhᵀ + Rbh)) + Wbh), which is PyTorch's n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)); with
/// the default 0 it would be g(Xt·Whᵀ + (rt ⊙ Ht−1)·Rhᵀ + Rbh + Wbh), a different cell. So the node sets it to 1.
/// </para>
/// <para>
/// Bidirectional (both operators, <c>direction = "bidirectional"</c>): num_directions = 2 is the first dimension of W, R,
/// B, initial_h/initial_c and Y_h/Y_c and the second of Y [T, 2, B, H], forward first, then reverse. With
/// <c>sequence_lens</c> [B] (int32), stream b runs its first sequence_lens[b] steps; the reverse direction starts at its
/// own last step, so its Y_h is its state after step 0, as PyTorch's packed sequences give.
/// </para>
/// </remarks>
internal static class OnnxModel
{
    // TensorProto.DataType FLOAT, INT8 and INT32; AttributeProto.AttributeType STRING (its value in field s = 4).
    private const int FloatType = 1, Int8Type = 3, Int32Type = 6, StringAttribute = 3;

    // ONNX gate block k holds PyTorch gate block s_lstmFromTorch[k]: i ← i, o ← o, f ← f, c ← g.
    private static readonly int[] s_lstmFromTorch = [0, 3, 1, 2];

    // ONNX gate block k holds PyTorch gate block s_gruFromTorch[k]: z ← z, r ← r, h ← n.
    private static readonly int[] s_gruFromTorch = [1, 0, 2];

    /// <summary>
    /// The one-node model of a one-layer LSTM or GRU with biases, for T = <paramref name="steps"/> and B = <paramref name="batch"/>:
    /// forward only, or (when the weights are bidirectional) <c>direction = "bidirectional"</c> with the reverse direction's
    /// weights as the second slice of W, R and B. With <paramref name="sequenceLengths"/>, the node also takes the
    /// <c>sequence_lens</c> input ([B], int32).
    /// </summary>
    public static byte[] For(RecurrentParameters weights, int steps, int batch, bool sequenceLengths = false)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (weights.Options.NumLayers != 1 || !weights.Options.Bias || weights.Options.ProjectionSize != 0)
            throw new ArgumentException("Only a one-layer cell with biases and no projection maps onto one ONNX node.", nameof(weights));
        return weights.Options.Cell switch
        {
            CellKind.Lstm => Build(weights, steps, batch, "LSTM", s_lstmFromTorch, linearBeforeReset: false, sequenceLengths),
            CellKind.Gru => Build(weights, steps, batch, "GRU", s_gruFromTorch, linearBeforeReset: true, sequenceLengths),
            _ => throw new ArgumentException($"ONNX has no node for a {weights.Options.Cell} layer here.", nameof(weights)),
        };
    }

    private static byte[] Build(RecurrentParameters weights, int steps, int batch, string opType, int[] order, bool linearBeforeReset, bool sequenceLengths)
    {
        int inputSize = weights.Options.InputSize, h = weights.Options.HiddenSize, gates = order.Length;
        int directions = weights.Options.NumDirections;
        bool lstm = weights.Options.HasCellState;
        // Direction d's blocks are slice d of W [D, G·H, I], R [D, G·H, H] and B [D, 2·G·H] (ONNX's forward, then reverse).
        int wLength = gates * h * inputSize, rLength = gates * h * h, bLength = 2 * gates * h;
        float[] w = new float[directions * wLength], r = new float[directions * rLength], b = new float[directions * bLength];
        for (int d = 0; d < directions; d++)
        {
            PermuteGates(weights.WeightIh(0, d), order, h, inputSize).CopyTo(w, d * wLength);
            PermuteGates(weights.WeightHh(0, d), order, h, h).CopyTo(r, d * rLength);
            PermuteGates(weights.BiasIh(0, d), order, h, 1).CopyTo(b, d * bLength);
            PermuteGates(weights.BiasHh(0, d), order, h, 1).CopyTo(b, d * bLength + gates * h);
        }

        var node = new ProtoWriter()
            .String(1, "X").String(1, "W").String(1, "R").String(1, "B").String(1, sequenceLengths ? "sequence_lens" : "").String(1, "initial_h");
        if (lstm)
            node.String(1, "initial_c");
        node.String(2, "Y").String(2, "Y_h");
        if (lstm)
            node.String(2, "Y_c");
        node.String(3, opType.ToLowerInvariant()).String(4, opType)
            .Message(5, new ProtoWriter().String(1, "hidden_size").Varint(3, h).Varint(20, 2));
        if (linearBeforeReset)
            node.Message(5, new ProtoWriter().String(1, "linear_before_reset").Varint(3, 1).Varint(20, 2));
        if (directions == 2)
            node.Message(5, new ProtoWriter().String(1, "direction").String(4, "bidirectional").Varint(20, StringAttribute));

        var graph = new ProtoWriter()
            .Message(1, node)
            .String(2, "simdlstm_peer")
            .Message(5, Tensor("W", [directions, gates * h, inputSize], w))
            .Message(5, Tensor("R", [directions, gates * h, h], r))
            .Message(5, Tensor("B", [directions, 2 * gates * h], b))
            .Message(11, Value("X", [steps, batch, inputSize]));
        if (sequenceLengths)
            graph.Message(11, Value("sequence_lens", [batch], Int32Type));
        graph.Message(11, Value("initial_h", [directions, batch, h]));
        if (lstm)
            graph.Message(11, Value("initial_c", [directions, batch, h]));
        graph.Message(12, Value("Y", [steps, directions, batch, h]))
            .Message(12, Value("Y_h", [directions, batch, h]));
        if (lstm)
            graph.Message(12, Value("Y_c", [directions, batch, h]));

        // IR version 8 with opset 17 (LSTM-14 and GRU-14 semantics), both long supported by ONNX Runtime.
        return new ProtoWriter()
            .Varint(1, 8)
            .String(2, "SimdLstm.Benchmarks.Peers")
            .Message(7, graph)
            .Message(8, new ProtoWriter().String(1, "").Varint(2, 17))
            .ToArray();
    }

    /// <summary>
    /// The one-node model of a one-layer LSTM with biases as ONNX Runtime's contrib operator <c>com.microsoft.DynamicQuantizeLSTM</c>
    /// (its schema in ONNX Runtime's docs/ContribOperators.md), for T = <paramref name="steps"/> and B = 1: the same inputs
    /// and outputs as <see cref="For"/>'s LSTM node, W and R stored as int8, quantised here per output channel (per gate
    /// row), symmetric, zero point 0 (see <see cref="QuantizeRows"/>); B stays fp32.
    /// </summary>
    /// <remarks>
    /// The operator's inputs, in order: X [T, B, I]; W int8 <b>[num_directions, input_size, 4·hidden_size]</b> — the
    /// transpose of the standard LSTM's [D, 4H, I], so column n of W is gate row n; R int8 [D, H, 4H] likewise; B fp32
    /// [D, 8H]; sequence_lens; initial_h, initial_c [D, B, H]; P (peepholes, left out); W_scale fp32 and W_zero_point
    /// (W's type) of shape [D] per tensor or [D, 4H] per channel; R_scale and R_zero_point alike. The gate order is the
    /// standard LSTM's i, o, f, c. With int8 weights ONNX Runtime's kernel requires every zero point to be 0, and at run
    /// time quantises X and each step's h to uint8 with one scale and zero point over the whole tensor.
    /// </remarks>
    public static byte[] DynamicQuantizeLstm(RecurrentParameters weights, int steps)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (weights.Options.Cell != CellKind.Lstm || weights.Options.NumLayers != 1 || !weights.Options.Bias
            || weights.Options.ProjectionSize != 0 || weights.Options.NumDirections != 1)
            throw new ArgumentException("DynamicQuantizeLSTM is built for a one-layer, one-direction LSTM with biases and no projection.", nameof(weights));
        int inputSize = weights.Options.InputSize, h = weights.Options.HiddenSize, gates = s_lstmFromTorch.Length;
        QuantizedRows w = QuantizeRows(PermuteGates(weights.WeightIh(0), s_lstmFromTorch, h, inputSize), gates * h, inputSize);
        QuantizedRows r = QuantizeRows(PermuteGates(weights.WeightHh(0), s_lstmFromTorch, h, h), gates * h, h);
        float[] b = new float[2 * gates * h];
        PermuteGates(weights.BiasIh(0), s_lstmFromTorch, h, 1).CopyTo(b, 0);
        PermuteGates(weights.BiasHh(0), s_lstmFromTorch, h, 1).CopyTo(b, gates * h);

        var node = new ProtoWriter()
            .String(1, "X").String(1, "W").String(1, "R").String(1, "B").String(1, "").String(1, "initial_h").String(1, "initial_c")
            .String(1, "").String(1, "W_scale").String(1, "W_zero_point").String(1, "R_scale").String(1, "R_zero_point")
            .String(2, "Y").String(2, "Y_h").String(2, "Y_c")
            .String(3, "dynamic_quantize_lstm").String(4, "DynamicQuantizeLSTM")
            .Message(5, new ProtoWriter().String(1, "hidden_size").Varint(3, h).Varint(20, 2))
            .String(7, MicrosoftDomain);

        sbyte[] zeroPoints = new sbyte[gates * h];
        var graph = new ProtoWriter()
            .Message(1, node)
            .String(2, "simdlstm_peer")
            .Message(5, Int8Tensor("W", [1, inputSize, gates * h], Transpose(w.Values, gates * h, inputSize)))
            .Message(5, Int8Tensor("R", [1, h, gates * h], Transpose(r.Values, gates * h, h)))
            .Message(5, Tensor("B", [1, 2 * gates * h], b))
            .Message(5, Tensor("W_scale", [1, gates * h], w.Scales))
            .Message(5, Int8Tensor("W_zero_point", [1, gates * h], zeroPoints))
            .Message(5, Tensor("R_scale", [1, gates * h], r.Scales))
            .Message(5, Int8Tensor("R_zero_point", [1, gates * h], zeroPoints))
            .Message(11, Value("X", [steps, 1, inputSize]))
            .Message(11, Value("initial_h", [1, 1, h]))
            .Message(11, Value("initial_c", [1, 1, h]))
            .Message(12, Value("Y", [steps, 1, 1, h]))
            .Message(12, Value("Y_h", [1, 1, h]))
            .Message(12, Value("Y_c", [1, 1, h]));

        // Two opset imports: the default domain (opset 17, as For) and com.microsoft version 1, the operator's.
        return new ProtoWriter()
            .Varint(1, 8)
            .String(2, "SimdLstm.Benchmarks.Peers")
            .Message(7, graph)
            .Message(8, new ProtoWriter().String(1, "").Varint(2, 17))
            .Message(8, new ProtoWriter().String(1, MicrosoftDomain).Varint(2, 1))
            .ToArray();
    }

    /// <summary>Int8 values of a [rows, cols] matrix, row-major, and one scale per row: value ≈ scale · q.</summary>
    public sealed record QuantizedRows(sbyte[] Values, float[] Scales);

    /// <summary>
    /// Symmetric int8 quantisation per row: scale = max |row| / 127 (1 for an all-zero row), q = round-half-even(w / scale),
    /// which lies in [−127, 127]; the zero point is 0. So every weight is off by at most scale / 2.
    /// </summary>
    public static QuantizedRows QuantizeRows(ReadOnlySpan<float> matrix, int rows, int cols)
    {
        var values = new sbyte[rows * cols];
        var scales = new float[rows];
        for (int row = 0; row < rows; row++)
        {
            ReadOnlySpan<float> source = matrix.Slice(row * cols, cols);
            float max = 0;
            foreach (float v in source)
                max = Math.Max(max, Math.Abs(v));
            float scale = max > 0 ? max / 127f : 1f;
            scales[row] = scale;
            for (int k = 0; k < cols; k++)
                values[row * cols + k] = (sbyte)Math.Clamp(MathF.Round(source[k] / scale, MidpointRounding.ToEven), -127f, 127f);
        }
        return new QuantizedRows(values, scales);
    }

    // The ONNX domain of ONNX Runtime's contrib operators (NodeProto.domain is field 7, OperatorSetIdProto.domain field 1).
    private const string MicrosoftDomain = "com.microsoft";

    // [rows, cols] → [cols, rows].
    private static sbyte[] Transpose(sbyte[] source, int rows, int cols)
    {
        var result = new sbyte[source.Length];
        for (int row = 0; row < rows; row++)
        {
            for (int col = 0; col < cols; col++)
                result[col * rows + row] = source[row * cols + col];
        }
        return result;
    }

    // [G·H, cols] in PyTorch gate order → [G·H, cols] in ONNX gate order: ONNX block k is PyTorch block order[k].
    private static float[] PermuteGates(ReadOnlySpan<float> source, int[] order, int h, int cols)
    {
        var result = new float[order.Length * h * cols];
        for (int k = 0; k < order.Length; k++)
            source.Slice(order[k] * h * cols, h * cols).CopyTo(result.AsSpan(k * h * cols));
        return result;
    }

    private static ProtoWriter Tensor(string name, long[] dims, float[] values)
    {
        byte[] raw = new byte[values.Length * sizeof(float)];
        // raw_data is little-endian, as is every machine this runs on.
        Buffer.BlockCopy(values, 0, raw, 0, raw.Length);
        return new ProtoWriter().PackedInt64(1, dims).Varint(2, FloatType).String(8, name).Bytes(9, raw);
    }

    private static ProtoWriter Int8Tensor(string name, long[] dims, ReadOnlySpan<sbyte> values) =>
        new ProtoWriter().PackedInt64(1, dims).Varint(2, Int8Type).String(8, name).Bytes(9, System.Runtime.InteropServices.MemoryMarshal.AsBytes(values));

    private static ProtoWriter Value(string name, long[] dims, int elementType = FloatType)
    {
        var shape = new ProtoWriter();
        foreach (long d in dims)
            shape.Message(1, new ProtoWriter().Varint(1, d));
        var tensorType = new ProtoWriter().Varint(1, elementType).Message(2, shape);
        return new ProtoWriter().String(1, name).Message(2, new ProtoWriter().Message(1, tensorType));
    }
}
