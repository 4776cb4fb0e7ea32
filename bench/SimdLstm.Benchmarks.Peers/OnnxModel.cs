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
/// Builds an ONNX model holding one <c>LSTM</c> or <c>GRU</c> node, in code. Field numbers are those of onnx/onnx.proto
/// (github.com/onnx/onnx/blob/main/onnx/onnx.proto): ModelProto ir_version 1, producer_name 2, graph 7, opset_import 8;
/// OperatorSetIdProto domain 1, version 2; GraphProto node 1, name 2, initializer 5, input 11, output 12;
/// NodeProto input 1, output 2, name 3, op_type 4, attribute 5; AttributeProto name 1, i 3, s 4, type 20 (INT = 2, STRING = 3);
/// TensorProto dims 1, data_type 2 (FLOAT = 1, INT32 = 6), name 8, raw_data 9; ValueInfoProto name 1, type 2; TypeProto tensor_type 1;
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
    // TensorProto.DataType FLOAT and INT32; AttributeProto.AttributeType STRING (its value in field s = 4).
    private const int FloatType = 1, Int32Type = 6, StringAttribute = 3;

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

    private static ProtoWriter Value(string name, long[] dims, int elementType = FloatType)
    {
        var shape = new ProtoWriter();
        foreach (long d in dims)
            shape.Message(1, new ProtoWriter().Varint(1, d));
        var tensorType = new ProtoWriter().Varint(1, elementType).Message(2, shape);
        return new ProtoWriter().String(1, name).Message(2, new ProtoWriter().Message(1, tensorType));
    }
}
