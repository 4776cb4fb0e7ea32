using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace SimdLstm.Benchmarks.Peers;

/// <summary>
/// A minimal protocol-buffers writer, enough for the few ONNX messages an LSTM graph needs. Wire format (varints,
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
/// Builds an ONNX model holding one <c>LSTM</c> node, in code. Field numbers are those of onnx/onnx.proto
/// (github.com/onnx/onnx/blob/main/onnx/onnx.proto): ModelProto ir_version 1, producer_name 2, graph 7, opset_import 8;
/// OperatorSetIdProto domain 1, version 2; GraphProto node 1, name 2, initializer 5, input 11, output 12;
/// NodeProto input 1, output 2, name 3, op_type 4, attribute 5; AttributeProto name 1, i 3, type 20 (INT = 2);
/// TensorProto dims 1, data_type 2 (FLOAT = 1), name 8, raw_data 9; ValueInfoProto name 1, type 2; TypeProto tensor_type 1;
/// TypeProto.Tensor elem_type 1, shape 2; TensorShapeProto dim 1; Dimension dim_value 1.
/// </summary>
/// <remarks>
/// The operator (onnx.ai/onnx/operators/onnx__LSTM.html): inputs X [T, B, I], W [1, 4H, I], R [1, 4H, H], B [1, 8H] = [Wb, Rb],
/// sequence_lens (omitted: every sequence has length T), initial_h and initial_c [1, B, H]; outputs Y [T, 1, B, H],
/// Y_h and Y_c [1, B, H]. ONNX orders the gate blocks i, o, f, c; PyTorch (and SimdLstm) i, f, g, o.
/// </remarks>
internal static class OnnxModel
{
    private const int FloatType = 1;

    // ONNX gate block k holds PyTorch gate block s_onnxFromTorch[k]: i ← i, o ← o, f ← f, c ← g.
    private static readonly int[] s_onnxFromTorch = [0, 3, 1, 2];

    public static byte[] Lstm(RecurrentParameters weights, int steps, int batch)
    {
        ArgumentNullException.ThrowIfNull(weights);
        int inputSize = weights.Options.InputSize, h = weights.Options.HiddenSize;
        if (weights.Options.Cell != CellKind.Lstm || weights.Options.NumLayers != 1 || !weights.Options.Bias)
            throw new ArgumentException("Only a one-layer LSTM with biases maps onto one ONNX LSTM node.", nameof(weights));

        float[] w = PermuteGates(weights.WeightIh(0), h, inputSize);
        float[] r = PermuteGates(weights.WeightHh(0), h, h);
        float[] b = new float[8 * h];
        PermuteGates(weights.BiasIh(0), h, 1).CopyTo(b, 0);
        PermuteGates(weights.BiasHh(0), h, 1).CopyTo(b, 4 * h);

        var node = new ProtoWriter()
            .String(1, "X").String(1, "W").String(1, "R").String(1, "B").String(1, "").String(1, "initial_h").String(1, "initial_c")
            .String(2, "Y").String(2, "Y_h").String(2, "Y_c")
            .String(3, "lstm").String(4, "LSTM")
            .Message(5, new ProtoWriter().String(1, "hidden_size").Varint(3, h).Varint(20, 2));

        var graph = new ProtoWriter()
            .Message(1, node)
            .String(2, "simdlstm_peer")
            .Message(5, Tensor("W", [1, 4 * h, inputSize], w))
            .Message(5, Tensor("R", [1, 4 * h, h], r))
            .Message(5, Tensor("B", [1, 8 * h], b))
            .Message(11, Value("X", [steps, batch, inputSize]))
            .Message(11, Value("initial_h", [1, batch, h]))
            .Message(11, Value("initial_c", [1, batch, h]))
            .Message(12, Value("Y", [steps, 1, batch, h]))
            .Message(12, Value("Y_h", [1, batch, h]))
            .Message(12, Value("Y_c", [1, batch, h]));

        // IR version 8 with opset 17 (LSTM-14 semantics), both long supported by ONNX Runtime.
        return new ProtoWriter()
            .Varint(1, 8)
            .String(2, "SimdLstm.Benchmarks.Peers")
            .Message(7, graph)
            .Message(8, new ProtoWriter().String(1, "").Varint(2, 17))
            .ToArray();
    }

    // [4H, cols] in PyTorch gate order → [4H, cols] in ONNX gate order.
    private static float[] PermuteGates(ReadOnlySpan<float> source, int h, int cols)
    {
        var result = new float[4 * h * cols];
        for (int k = 0; k < 4; k++)
            source.Slice(s_onnxFromTorch[k] * h * cols, h * cols).CopyTo(result.AsSpan(k * h * cols));
        return result;
    }

    private static ProtoWriter Tensor(string name, long[] dims, float[] values)
    {
        byte[] raw = new byte[values.Length * sizeof(float)];
        // raw_data is little-endian, as is every machine this runs on.
        Buffer.BlockCopy(values, 0, raw, 0, raw.Length);
        return new ProtoWriter().PackedInt64(1, dims).Varint(2, FloatType).String(8, name).Bytes(9, raw);
    }

    private static ProtoWriter Value(string name, long[] dims)
    {
        var shape = new ProtoWriter();
        foreach (long d in dims)
            shape.Message(1, new ProtoWriter().Varint(1, d));
        var tensorType = new ProtoWriter().Varint(1, FloatType).Message(2, shape);
        return new ProtoWriter().String(1, name).Message(2, new ProtoWriter().Message(1, tensorType));
    }
}
