using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using Google.Protobuf;

namespace SimdLstm.Onnx.Protobuf;

/// <summary>
/// Reads a ModelProto into <see cref="OnnxModelProto"/>. The messages read are a fixed, shallow tree (model → graph →
/// node → attribute → tensor; graph → value info → type → shape), so nothing recurses on the input's nesting; unknown
/// fields are skipped by the protobuf library, whose group nesting is bounded.
/// </summary>
internal static class OnnxReader
{
    public static OnnxModelProto ReadModel(byte[] data)
    {
        try
        {
            return Model(new ProtoCursor(data, new ProtoSlice(0, data.Length), "ModelProto"));
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new OnnxFormatException("The bytes are not a well-formed ONNX model: " + e.Message, e);
        }
    }

    private static OnnxModelProto Model(ProtoCursor c)
    {
        var model = new OnnxModelProto();
        while (c.Next())
        {
            switch (c.Field)
            {
                case 1: model.IrVersion = c.Int64(); break;
                case 2: model.ProducerName = c.String(); break;
                case 3: model.ProducerVersion = c.String(); break;
                case 7:
                    if (model.Graph != null)
                        throw new OnnxFormatException("The model holds more than one graph.");
                    model.Graph = Graph(c.Message("GraphProto"));
                    break;
                case 8:
                    {
                        (string domain, long version) = Opset(c.Message("OperatorSetIdProto"));
                        model.Opsets[domain] = version;
                        break;
                    }
                default: c.Skip(); break;
            }
        }
        return model;
    }

    private static (string, long) Opset(ProtoCursor c)
    {
        string domain = "";
        long version = 0;
        while (c.Next())
        {
            switch (c.Field)
            {
                case 1: domain = c.String(); break;
                case 2: version = c.Int64(); break;
                default: c.Skip(); break;
            }
        }
        return (domain, version);
    }

    private static OnnxGraph Graph(ProtoCursor c)
    {
        var graph = new OnnxGraph();
        while (c.Next())
        {
            switch (c.Field)
            {
                case 1:
                    {
                        OnnxNode node = Node(c.Message("NodeProto"));
                        node.Index = graph.Nodes.Count;
                        graph.Nodes.Add(node);
                        break;
                    }
                case 2: graph.Name = c.String(); break;
                case 5: graph.Initializers.Add(Tensor(c.Message("TensorProto"))); break;
                case 11: graph.Inputs.Add(ValueInfo(c.Message("ValueInfoProto"))); break;
                case 12: graph.Outputs.Add(ValueInfo(c.Message("ValueInfoProto"))); break;
                default: c.Skip(); break;
            }
        }
        return graph;
    }

    private static OnnxNode Node(ProtoCursor c)
    {
        var node = new OnnxNode();
        while (c.Next())
        {
            switch (c.Field)
            {
                case 1: node.Inputs.Add(c.String()); break;
                case 2: node.Outputs.Add(c.String()); break;
                case 3: node.Name = c.String(); break;
                case 4: node.OpType = c.String(); break;
                case 5: node.Attributes.Add(Attribute(c.Message("AttributeProto"))); break;
                case 7: node.Domain = c.String(); break;
                default: c.Skip(); break;
            }
        }
        return node;
    }

    private static OnnxAttribute Attribute(ProtoCursor c)
    {
        var a = new OnnxAttribute();
        while (c.Next())
        {
            switch (c.Field)
            {
                case 1: a.Name = c.String(); break;
                case 2: a.F = c.Float(); break;
                case 3: a.I = c.Int64(); break;
                case 4: a.S = c.String(); break;
                case 5: a.T = Tensor(c.Message("TensorProto")); break;
                case 7: c.Floats(a.Floats); break;
                case 8: c.Int64s(a.Ints); break;
                case 9: a.Strings.Add(c.String()); break;
                case 20:
                    {
                        long type = c.Int64();
                        a.Type = type is >= 0 and <= 14 ? (OnnxAttributeType)type : throw new OnnxFormatException($"Attribute '{a.Name}' has an unknown type {type}.");
                        break;
                    }
                default: c.Skip(); break; // subgraphs, sparse tensors, type protos: never needed here
            }
        }
        return a;
    }

    private static OnnxValueInfo ValueInfo(ProtoCursor c)
    {
        var info = new OnnxValueInfo();
        while (c.Next())
        {
            switch (c.Field)
            {
                case 1: info.Name = c.String(); break;
                case 2: TypeProto(c.Message("TypeProto"), info); break;
                default: c.Skip(); break;
            }
        }
        return info;
    }

    private static void TypeProto(ProtoCursor c, OnnxValueInfo info)
    {
        while (c.Next())
        {
            if (c.Field != 1)
            {
                c.Skip(); // sequence, map, optional and sparse types: not a tensor input this library takes
                continue;
            }
            ProtoCursor tensor = c.Message("TypeProto.Tensor");
            while (tensor.Next())
            {
                switch (tensor.Field)
                {
                    case 1: info.ElementType = (int)tensor.Int64(); break;
                    case 2: info.Dims = Shape(tensor.Message("TensorShapeProto")); break;
                    default: tensor.Skip(); break;
                }
            }
        }
    }

    private static long[] Shape(ProtoCursor c)
    {
        var dims = new List<long>();
        while (c.Next())
        {
            if (c.Field != 1)
            {
                c.Skip();
                continue;
            }
            long value = -1;
            ProtoCursor dim = c.Message("TensorShapeProto.Dimension");
            while (dim.Next())
            {
                if (dim.Field == 1)
                    value = dim.Int64();
                else
                    dim.Skip();
            }
            dims.Add(value);
        }
        return dims.ToArray();
    }

    private static OnnxTensor Tensor(ProtoCursor c)
    {
        var tensor = new OnnxTensor();
        var dims = new List<long>();
        var floats = new List<float>();
        var doubles = new List<double>();
        var int32s = new List<long>();
        var int64s = new List<long>();
        ProtoSlice? raw = null;
        bool external = false;
        byte[] data = c.Data;
        while (c.Next())
        {
            switch (c.Field)
            {
                case 1: c.Int64s(dims); break;
                case 2: tensor.DataType = (int)c.Int64(); break;
                case 4: c.Floats(floats); break;
                case 5: c.Int64s(int32s); break;
                case 7: c.Int64s(int64s); break;
                case 8: tensor.Name = c.String(); break;
                case 9: raw = c.Slice(); break;
                case 10: c.Doubles(doubles); break;
                case 14: external = c.Int64() == 1; break;
                default: c.Skip(); break;
            }
        }
        string label = tensor.Name.Length > 0 ? "'" + tensor.Name + "'" : "(unnamed)";
        if (external)
            throw new OnnxFormatException($"Tensor {label} keeps its data in an external file, which this importer does not read.");
        long count = 1;
        foreach (long d in dims)
        {
            if (d < 0)
                throw new OnnxFormatException($"Tensor {label} has a negative dimension {d}.");
            if (d != 0 && count > Array.MaxLength / d)
                throw new OnnxFormatException($"Tensor {label} has dims [{string.Join(", ", dims)}], more elements than an array holds.");
            count *= d;
        }
        tensor.Dims = dims.ToArray();
        int typed = (floats.Count > 0 ? 1 : 0) + (doubles.Count > 0 ? 1 : 0) + (int32s.Count > 0 ? 1 : 0) + (int64s.Count > 0 ? 1 : 0);
        if (typed > 1 || (typed == 1 && raw is { Length: > 0 }))
            throw new OnnxFormatException($"Tensor {label} holds its values in more than one field.");
        switch (tensor.DataType)
        {
            case OnnxDataType.Float:
                tensor.Floats = raw is { } rf ? RawFloats(data, rf, count, label) : Typed(floats, count, label, v => v);
                break;
            case OnnxDataType.Double:
                tensor.Floats = raw is { } rd ? RawDoubles(data, rd, count, label) : Typed(doubles, count, label, v => (float)v);
                break;
            case OnnxDataType.Float16:
                // Typed float16 values are the 16-bit patterns in int32_data.
                tensor.Floats = raw is { } rh ? RawHalves(data, rh, count, label) : Typed(int32s, count, label, v => (float)BitConverter.UInt16BitsToHalf((ushort)v));
                break;
            case OnnxDataType.Int64:
                tensor.Integers = raw is { } ri ? RawIntegers(data, ri, count, 8, label) : Typed(int64s, count, label, v => v);
                break;
            case OnnxDataType.Int32:
            case OnnxDataType.Bool:
            case OnnxDataType.Uint8:
            case OnnxDataType.Int8:
                {
                    int size = tensor.DataType == OnnxDataType.Int32 ? 4 : 1;
                    tensor.Integers = raw is { } rb ? RawIntegers(data, rb, count, size, label) : Typed(int32s, count, label, v => v);
                    if (tensor.DataType == OnnxDataType.Int8 && raw is not null)
                    {
                        for (int i = 0; i < tensor.Integers.Length; i++)
                            tensor.Integers[i] = (sbyte)tensor.Integers[i];
                    }
                    break;
                }
            default:
                break; // other types are kept without values; using one where values are needed is refused there
        }
        return tensor;
    }

    private static T[] Typed<TIn, T>(List<TIn> values, long count, string label, Func<TIn, T> convert)
    {
        if (values.Count != count)
            throw new OnnxFormatException($"Tensor {label} has {values.Count} values for {count} elements.");
        var result = new T[values.Count];
        for (int i = 0; i < result.Length; i++)
            result[i] = convert(values[i]);
        return result;
    }

    private static void CheckRaw(ProtoSlice raw, long count, int size, string label)
    {
        if (raw.Length != count * size)
            throw new OnnxFormatException($"Tensor {label} has {raw.Length} bytes of raw data for {count} elements of {size} bytes.");
    }

    private static float[] RawFloats(byte[] data, ProtoSlice raw, long count, string label)
    {
        CheckRaw(raw, count, 4, label);
        var result = new float[count];
        for (int i = 0; i < result.Length; i++)
            result[i] = BinaryPrimitives.ReadSingleLittleEndian(data.AsSpan(raw.Start + 4 * i));
        return result;
    }

    private static float[] RawDoubles(byte[] data, ProtoSlice raw, long count, string label)
    {
        CheckRaw(raw, count, 8, label);
        var result = new float[count];
        for (int i = 0; i < result.Length; i++)
            result[i] = (float)BinaryPrimitives.ReadDoubleLittleEndian(data.AsSpan(raw.Start + 8 * i));
        return result;
    }

    private static float[] RawHalves(byte[] data, ProtoSlice raw, long count, string label)
    {
        CheckRaw(raw, count, 2, label);
        var result = new float[count];
        for (int i = 0; i < result.Length; i++)
            result[i] = (float)BinaryPrimitives.ReadHalfLittleEndian(data.AsSpan(raw.Start + 2 * i));
        return result;
    }

    private static long[] RawIntegers(byte[] data, ProtoSlice raw, long count, int size, string label)
    {
        CheckRaw(raw, count, size, label);
        var result = new long[count];
        for (int i = 0; i < result.Length; i++)
        {
            ReadOnlySpan<byte> at = data.AsSpan(raw.Start + size * i, size);
            result[i] = size switch
            {
                8 => BinaryPrimitives.ReadInt64LittleEndian(at),
                4 => BinaryPrimitives.ReadInt32LittleEndian(at),
                _ => at[0],
            };
        }
        return result;
    }
}
