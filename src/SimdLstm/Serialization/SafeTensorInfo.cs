using System;
using System.Text;

namespace SimdLstm.Serialization;

/// <summary>One tensor entry of a validated safetensors header.</summary>
public sealed class SafeTensorInfo
{
    private readonly long[] _shape;

    internal SafeTensorInfo(string name, SafeTensorsDType dtype, long[] shape, long elementCount, long dataBegin, long dataEnd)
    {
        Name = name;
        DType = dtype;
        _shape = shape;
        ElementCount = elementCount;
        DataBegin = dataBegin;
        DataEnd = dataEnd;
    }

    /// <summary>The tensor's name (the header key).</summary>
    public string Name { get; }

    /// <summary>The element type.</summary>
    public SafeTensorsDType DType { get; }

    /// <summary>The dimensions, outermost first (row-major, as the format). Empty for a scalar.</summary>
    public ReadOnlySpan<long> Shape => _shape;

    /// <summary>The product of <see cref="Shape"/> (1 for a scalar).</summary>
    public long ElementCount { get; }

    /// <summary>The first byte of the tensor's data, relative to the start of the data section.</summary>
    public long DataBegin { get; }

    /// <summary>One past the last byte of the tensor's data, relative to the start of the data section.</summary>
    public long DataEnd { get; }

    /// <summary>Whether <see cref="Shape"/> equals <paramref name="shape"/> dimension for dimension.</summary>
    /// <param name="shape">The dimensions to compare with.</param>
    /// <returns>True when the ranks and every dimension agree.</returns>
    public bool ShapeEquals(ReadOnlySpan<int> shape)
    {
        if (shape.Length != _shape.Length)
            return false;
        for (int i = 0; i < shape.Length; i++)
        {
            if (_shape[i] != shape[i])
                return false;
        }
        return true;
    }

    /// <summary>The shape as text, e.g. "[4, 3]".</summary>
    internal string ShapeText() => FormatShape(_shape);

    internal static string FormatShape(ReadOnlySpan<long> shape)
    {
        var sb = new StringBuilder("[");
        for (int i = 0; i < shape.Length; i++)
            sb.Append(i == 0 ? "" : ", ").Append(shape[i]);
        return sb.Append(']').ToString();
    }

    internal static string FormatShape(ReadOnlySpan<int> shape)
    {
        var sb = new StringBuilder("[");
        for (int i = 0; i < shape.Length; i++)
            sb.Append(i == 0 ? "" : ", ").Append(shape[i]);
        return sb.Append(']').ToString();
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name}: {SafeTensorsDTypes.Name(DType)} {ShapeText()} bytes [{DataBegin}, {DataEnd})";
}
