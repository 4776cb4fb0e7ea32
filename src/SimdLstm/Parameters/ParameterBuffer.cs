using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;

namespace SimdLstm;

/// <summary>One named tensor inside a <see cref="ParameterBuffer"/>: its name, shape and place in the flat buffer.</summary>
/// <param name="Name">The tensor's name, as in a PyTorch state_dict (e.g. <c>weight_ih_l0</c>, <c>fc.bias</c>).</param>
/// <param name="Shape">The tensor's shape, row-major.</param>
/// <param name="Offset">Index of the tensor's first element in the flat buffer.</param>
/// <param name="Length">Number of elements (the product of <paramref name="Shape"/>).</param>
public sealed record ParameterTensor(string Name, IReadOnlyList<int> Shape, int Offset, int Length)
{
    /// <summary>The shape written as <c>[a, b]</c>, for messages.</summary>
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";
}

/// <summary>
/// All the parameters of a model in one flat <see cref="float"/> allocation, with named, shaped views.
/// </summary>
/// <remarks>
/// Gradients use a buffer of the same layout (<see cref="CreateZeroedLike"/>), so an optimiser is one flat loop over
/// <see cref="Span"/> and a checkpoint is a walk over <see cref="Tensors"/>. Layers resolve their tensors by name once,
/// at construction, and keep the <see cref="Memory{T}"/> views.
/// </remarks>
public sealed class ParameterBuffer
{
    private readonly float[] _data;
    private readonly Dictionary<string, ParameterTensor> _byName;

    /// <summary>Creates a zero-filled buffer holding the given tensors, laid out in the order given.</summary>
    /// <param name="tensors">Names and shapes. Names must be unique and non-empty; dimensions must be non-negative.</param>
    /// <exception cref="ArgumentException">A name is empty or repeated, a dimension is negative, or the total exceeds <see cref="Array.MaxLength"/>.</exception>
    public ParameterBuffer(IEnumerable<(string Name, int[] Shape)> tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        var list = new List<ParameterTensor>();
        _byName = new Dictionary<string, ParameterTensor>(StringComparer.Ordinal);
        long offset = 0;
        foreach ((string name, int[] shape) in tensors)
        {
            if (string.IsNullOrEmpty(name))
                throw new ArgumentException("Tensor names must be non-empty.", nameof(tensors));
            ArgumentNullException.ThrowIfNull(shape, nameof(tensors));
            long length = 1;
            foreach (int d in shape)
            {
                if (d < 0)
                    throw new ArgumentException($"Tensor '{name}' has a negative dimension in [{string.Join(", ", shape)}].", nameof(tensors));
                length *= d;
                if (length > Array.MaxLength)
                    throw new ArgumentException($"Tensor '{name}' is too large.", nameof(tensors));
            }
            var tensor = new ParameterTensor(name, Array.AsReadOnly((int[])shape.Clone()), (int)offset, (int)length);
            if (!_byName.TryAdd(name, tensor))
                throw new ArgumentException($"Tensor name '{name}' appears twice.", nameof(tensors));
            list.Add(tensor);
            offset += length;
            if (offset > Array.MaxLength)
                throw new ArgumentException("The parameters do not fit in one array.", nameof(tensors));
        }
        Tensors = new ReadOnlyCollection<ParameterTensor>(list);
        _data = new float[offset];
    }

    private ParameterBuffer(ParameterBuffer layout)
    {
        Tensors = layout.Tensors;
        _byName = layout._byName;
        _data = new float[layout._data.Length];
    }

    /// <summary>The tensors in layout order.</summary>
    public IReadOnlyList<ParameterTensor> Tensors { get; }

    /// <summary>Total number of parameters.</summary>
    public int Length => _data.Length;

    /// <summary>All parameters as one span, in layout order.</summary>
    public Span<float> Span => _data;

    /// <summary>All parameters as one memory block, in layout order.</summary>
    public Memory<float> Memory => _data;

    /// <summary>Whether a tensor of this name exists.</summary>
    public bool Contains(string name) => _byName.ContainsKey(name);

    /// <summary>Describes the tensor of the given name.</summary>
    /// <exception cref="KeyNotFoundException">No tensor has that name.</exception>
    public ParameterTensor Describe(string name) =>
        _byName.TryGetValue(name, out ParameterTensor? t) ? t : throw new KeyNotFoundException($"No parameter tensor named '{name}'.");

    /// <summary>The elements of the named tensor, row-major.</summary>
    /// <exception cref="KeyNotFoundException">No tensor has that name.</exception>
    public Memory<float> this[string name]
    {
        get
        {
            ParameterTensor t = Describe(name);
            return _data.AsMemory(t.Offset, t.Length);
        }
    }

    /// <summary>A new zero-filled buffer with exactly this layout (for gradients or optimiser state).</summary>
    public ParameterBuffer CreateZeroedLike() => new(this);

    /// <summary>Whether <paramref name="other"/> has the same tensors, shapes and order.</summary>
    public bool HasSameLayout(ParameterBuffer other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (ReferenceEquals(Tensors, other.Tensors))
            return true;
        if (Tensors.Count != other.Tensors.Count)
            return false;
        for (int i = 0; i < Tensors.Count; i++)
        {
            ParameterTensor a = Tensors[i], b = other.Tensors[i];
            if (a.Name != b.Name || a.Offset != b.Offset || a.Length != b.Length || a.ShapeText != b.ShapeText)
                return false;
        }
        return true;
    }

    /// <summary>Sets every parameter to zero (e.g. gradients before a backward pass, which accumulates).</summary>
    public void Clear() => Array.Clear(_data);

    /// <summary>Copies every value from a buffer of the same layout.</summary>
    /// <exception cref="ArgumentException">The layouts differ.</exception>
    public void CopyFrom(ParameterBuffer source)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (!HasSameLayout(source))
            throw new ArgumentException("The source buffer has a different layout.", nameof(source));
        source._data.AsSpan().CopyTo(_data);
    }
}
