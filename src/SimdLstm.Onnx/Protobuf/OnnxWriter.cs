using System;

namespace SimdLstm.Onnx.Protobuf;

/// <summary>Writes an <see cref="OnnxModelProto"/> as a ModelProto (tensors as <c>raw_data</c>, little-endian).</summary>
internal static class OnnxWriter
{
    public static byte[] WriteModel(OnnxModelProto model)
    {
        ArgumentNullException.ThrowIfNull(model.Graph);
        var w = new ProtoWriter();
        w.Int64(1, model.IrVersion);
        if (model.ProducerName.Length > 0)
            w.String(2, model.ProducerName);
        if (model.ProducerVersion.Length > 0)
            w.String(3, model.ProducerVersion);
        w.Message(7, Graph(model.Graph));
        foreach ((string domain, long version) in model.Opsets)
        {
            var opset = new ProtoWriter();
            if (domain.Length > 0)
                opset.String(1, domain);
            opset.Int64(2, version);
            w.Message(8, opset);
        }
        return w.ToArray();
    }

    private static ProtoWriter Graph(OnnxGraph graph)
    {
        var w = new ProtoWriter();
        foreach (OnnxNode node in graph.Nodes)
            w.Message(1, Node(node));
        w.String(2, graph.Name);
        foreach (OnnxTensor tensor in graph.Initializers)
            w.Message(5, Tensor(tensor));
        foreach (OnnxValueInfo input in graph.Inputs)
            w.Message(11, ValueInfo(input));
        foreach (OnnxValueInfo output in graph.Outputs)
            w.Message(12, ValueInfo(output));
        return w;
    }

    private static ProtoWriter Node(OnnxNode node)
    {
        var w = new ProtoWriter();
        foreach (string input in node.Inputs)
            w.String(1, input);
        foreach (string output in node.Outputs)
            w.String(2, output);
        if (node.Name.Length > 0)
            w.String(3, node.Name);
        w.String(4, node.OpType);
        foreach (OnnxAttribute attribute in node.Attributes)
            w.Message(5, Attribute(attribute));
        if (node.Domain.Length > 0)
            w.String(7, node.Domain);
        return w;
    }

    private static ProtoWriter Attribute(OnnxAttribute a)
    {
        var w = new ProtoWriter();
        w.String(1, a.Name);
        switch (a.Type)
        {
            case OnnxAttributeType.Float: w.Float(2, a.F); break;
            case OnnxAttributeType.Int: w.Int64(3, a.I); break;
            case OnnxAttributeType.String: w.String(4, a.S ?? ""); break;
            case OnnxAttributeType.Tensor: w.Message(5, Tensor(a.T!)); break;
            case OnnxAttributeType.Floats:
                foreach (float f in a.Floats)
                    w.Float(7, f);
                break;
            case OnnxAttributeType.Ints: w.PackedInt64s(8, a.Ints); break;
            case OnnxAttributeType.Strings:
                foreach (string s in a.Strings)
                    w.String(9, s);
                break;
            default: throw new ArgumentException($"Attribute '{a.Name}': type {a.Type} is not written by this library.");
        }
        w.Int64(20, (long)a.Type);
        return w;
    }

    private static ProtoWriter Tensor(OnnxTensor t)
    {
        var w = new ProtoWriter();
        if (t.Dims.Length > 0)
            w.PackedInt64s(1, t.Dims);
        w.Int64(2, t.DataType);
        if (t.Name.Length > 0)
            w.String(8, t.Name);
        switch (t.DataType)
        {
            case OnnxDataType.Float:
                w.Bytes(9, ProtoWriter.LittleEndian(t.Floats));
                break;
            case OnnxDataType.Int64:
                w.PackedInt64s(7, t.Integers!);
                break;
            case OnnxDataType.Int32:
                w.PackedInt64s(5, t.Integers!);
                break;
            default: throw new ArgumentException($"Tensor '{t.Name}': {OnnxDataType.Name(t.DataType)} is not written by this library.");
        }
        return w;
    }

    private static ProtoWriter ValueInfo(OnnxValueInfo info)
    {
        var shape = new ProtoWriter();
        long[] dims = info.Dims ?? [];
        for (int i = 0; i < dims.Length; i++)
        {
            var dim = new ProtoWriter();
            string? name = info.DimNames?[i];
            if (name != null)
                dim.String(2, name);
            else
                dim.Int64(1, dims[i]);
            shape.Message(1, dim);
        }
        var tensorType = new ProtoWriter();
        tensorType.Int64(1, info.ElementType);
        tensorType.Message(2, shape);
        var type = new ProtoWriter();
        type.Message(1, tensorType);
        var w = new ProtoWriter();
        w.String(1, info.Name);
        w.Message(2, type);
        return w;
    }
}
