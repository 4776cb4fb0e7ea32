using System;
using System.Collections.Generic;

namespace SimdLstm.Onnx.Protobuf;

// The few messages of onnx.proto this library reads and writes, with ONNX's field numbers. Fields not listed are
// skipped on reading (subgraphs of control-flow attributes, sparse tensors, training information, functions).

/// <summary>TensorProto.DataType values used here.</summary>
internal static class OnnxDataType
{
    public const int Float = 1;
    public const int Uint8 = 2;
    public const int Int8 = 3;
    public const int Int32 = 6;
    public const int Int64 = 7;
    public const int Bool = 9;
    public const int Float16 = 10;
    public const int Double = 11;

    public static string Name(int type) => type switch
    {
        Float => "float",
        Uint8 => "uint8",
        Int8 => "int8",
        Int32 => "int32",
        Int64 => "int64",
        Bool => "bool",
        Float16 => "float16",
        Double => "double",
        _ => "data type " + type,
    };
}

/// <summary>AttributeProto.AttributeType values.</summary>
internal enum OnnxAttributeType
{
    Undefined = 0,
    Float = 1,
    Int = 2,
    String = 3,
    Tensor = 4,
    Graph = 5,
    Floats = 6,
    Ints = 7,
    Strings = 8,
    Tensors = 9,
    Graphs = 10,
}

/// <summary>A TensorProto: dims, data type and, for the numeric types read here, its values.</summary>
internal sealed class OnnxTensor
{
    public string Name { get; set; } = "";
    public int DataType { get; set; }
    public long[] Dims { get; set; } = [];

    /// <summary>The values of a float, double or float16 tensor, as floats.</summary>
    public float[]? Floats { get; set; }

    /// <summary>The values of an integer or bool tensor.</summary>
    public long[]? Integers { get; set; }

    public long ElementCount
    {
        get
        {
            long count = 1;
            foreach (long d in Dims)
                count *= d; // dims are checked on reading: non-negative, product within an array
            return count;
        }
    }

    public string ShapeText => "[" + string.Join(", ", Dims) + "]";
}

internal sealed class OnnxAttribute
{
    public string Name { get; set; } = "";
    public OnnxAttributeType Type { get; set; }
    public float F { get; set; }
    public long I { get; set; }
    public string? S { get; set; }
    public OnnxTensor? T { get; set; }
    public List<float> Floats { get; } = [];
    public List<long> Ints { get; } = [];
    public List<string> Strings { get; } = [];
}

internal sealed class OnnxNode
{
    public string Name { get; set; } = "";
    public string OpType { get; set; } = "";
    public string Domain { get; set; } = "";
    public List<string> Inputs { get; } = [];
    public List<string> Outputs { get; } = [];
    public List<OnnxAttribute> Attributes { get; } = [];

    /// <summary>The node's position in the graph (for messages about unnamed nodes).</summary>
    public int Index { get; set; }

    /// <summary>"'name' (Op)" or "#index (Op)" for messages.</summary>
    public string Label => (Name.Length > 0 ? "'" + Name + "'" : "#" + Index) + " (" + OpType + ")";

    public OnnxAttribute? Attribute(string name)
    {
        foreach (OnnxAttribute a in Attributes)
        {
            if (a.Name == name)
                return a;
        }
        return null;
    }

    /// <summary>Input <paramref name="index"/>, or "" when the node has fewer inputs (ONNX's empty name: absent).</summary>
    public string Input(int index) => index < Inputs.Count ? Inputs[index] : "";

    public string Output(int index) => index < Outputs.Count ? Outputs[index] : "";
}

/// <summary>A graph input or output: name, element type and shape (a dimension is its value, or −1 when symbolic or unknown).</summary>
internal sealed class OnnxValueInfo
{
    public string Name { get; set; } = "";
    public int ElementType { get; set; }
    public long[]? Dims { get; set; }

    /// <summary>Symbolic names of the dimensions (writing only); null entries for fixed ones.</summary>
    public string?[]? DimNames { get; set; }
}

internal sealed class OnnxGraph
{
    public string Name { get; set; } = "";
    public List<OnnxNode> Nodes { get; } = [];
    public List<OnnxTensor> Initializers { get; } = [];
    public List<OnnxValueInfo> Inputs { get; } = [];
    public List<OnnxValueInfo> Outputs { get; } = [];
}

internal sealed class OnnxModelProto
{
    public long IrVersion { get; set; }
    public string ProducerName { get; set; } = "";
    public string ProducerVersion { get; set; } = "";
    public Dictionary<string, long> Opsets { get; } = new(StringComparer.Ordinal);
    public OnnxGraph? Graph { get; set; }
}
