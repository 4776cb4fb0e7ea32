using System;
using System.Collections.Generic;

namespace SimdLstm;

/// <summary>
/// A fully connected layer y = W·x + b (PyTorch's <c>nn.Linear</c>): <c>{prefix}weight</c> [out, in] and
/// <c>{prefix}bias</c> [out], as views into a <see cref="ParameterBuffer"/>. Stateless apart from its weights, so one
/// instance may serve many threads; a second instance over a gradient buffer of the same layout views the gradients.
/// </summary>
public sealed class Linear
{
    private readonly Memory<float> _weight;
    private readonly Memory<float> _bias;

    /// <summary>Views <c>{prefix}weight</c> and <c>{prefix}bias</c> in <paramref name="buffer"/>.</summary>
    /// <exception cref="ArgumentException">A tensor is missing or has the wrong shape.</exception>
    public Linear(int inFeatures, int outFeatures, ParameterBuffer buffer, string prefix = "fc.", bool bias = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inFeatures, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outFeatures, 1);
        ArgumentNullException.ThrowIfNull(buffer);
        ArgumentNullException.ThrowIfNull(prefix);
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        HasBias = bias;
        Prefix = prefix;
        Buffer = buffer;
        foreach ((string name, int[] shape) in Layout(inFeatures, outFeatures, prefix, bias))
        {
            string expected = "[" + string.Join(", ", shape) + "]";
            if (!buffer.Contains(name))
                throw new ArgumentException($"The parameter buffer has no tensor '{name}' (expected shape {expected}).", nameof(buffer));
            string actual = buffer.Describe(name).ShapeText;
            if (actual != expected)
                throw new ArgumentException($"Tensor '{name}' has shape {actual}; expected {expected}.", nameof(buffer));
        }
        WeightName = prefix + "weight";
        BiasName = prefix + "bias";
        GradientWeightName = "gradients." + WeightName;
        GradientBiasName = "gradients." + BiasName;
        _weight = buffer[prefix + "weight"];
        _bias = bias ? buffer[prefix + "bias"] : Memory<float>.Empty;
    }

    /// <summary>Input features.</summary>
    public int InFeatures { get; }

    /// <summary>Output features.</summary>
    public int OutFeatures { get; }

    /// <summary>Whether the layer has a bias.</summary>
    public bool HasBias { get; }

    /// <summary>The prefix of the tensor names.</summary>
    public string Prefix { get; }

    /// <summary>The buffer the tensors live in.</summary>
    public ParameterBuffer Buffer { get; }

    /// <summary>W, row-major [out, in].</summary>
    public Span<float> Weight => _weight.Span;

    /// <summary>b [out]; empty without bias.</summary>
    public Span<float> Bias => _bias.Span;

    /// <summary>The names and shapes of the layer's tensors.</summary>
    public static IEnumerable<(string Name, int[] Shape)> Layout(int inFeatures, int outFeatures, string prefix = "fc.", bool bias = true)
    {
        yield return (prefix + "weight", new[] { outFeatures, inFeatures });
        if (bias)
            yield return (prefix + "bias", new[] { outFeatures });
    }

    /// <summary>Fills W and b with U(−1/√in, 1/√in), PyTorch's default for <c>nn.Linear</c>, from <paramref name="random"/>.</summary>
    public void InitializeUniform(Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        float bound = 1f / MathF.Sqrt(InFeatures);
        RecurrentParameters.FillUniform(Weight, bound, random);
        RecurrentParameters.FillUniform(Bias, bound, random);
    }

    /// <summary>y = x·Wᵀ + b for <paramref name="rows"/> rows. // x [N, in], y [N, out] (overwritten)</summary>
    /// <exception cref="ArgumentException">A length does not match; nothing has been written.</exception>
    public void Forward(ReadOnlySpan<float> x, int rows, Span<float> y)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        Guard.Length(x.Length, Elements(rows, InFeatures, nameof(rows)), nameof(x));
        Guard.Length(y.Length, Elements(rows, OutFeatures, nameof(rows)), nameof(y));
        Guard.NoPartialOverlap(x, y, nameof(x), nameof(y), allowInPlace: false);
        Guard.NoPartialOverlap(Weight, y, WeightName, nameof(y), allowInPlace: false);
        Guard.NoPartialOverlap(Bias, y, BiasName, nameof(y), allowInPlace: false);
        ReadOnlySpan<float> bias = Bias;
        for (int r = 0; r < rows; r++)
        {
            Span<float> row = y.Slice(r * OutFeatures, OutFeatures);
            if (bias.IsEmpty) row.Clear(); else bias.CopyTo(row);
        }
        if (rows == 1)
            Kernels.Gemv(Weight, OutFeatures, InFeatures, InFeatures, x, y);
        else
            Kernels.Gemm(Transpose.None, Transpose.Transposed, rows, OutFeatures, InFeatures, 1f, x, InFeatures, Weight, InFeatures, 1f, y, OutFeatures);
    }

    /// <summary>
    /// Backward of <see cref="Forward"/>: accumulates dW += dyᵀ·x and db += Σ dy into <paramref name="gradients"/> (the caller
    /// zeroes them) and writes dx = dy·W (skipped when <paramref name="dX"/> is empty). // x, dX [N, in], dY [N, out]
    /// </summary>
    /// <exception cref="ArgumentException">A length or the gradients' shape does not match; nothing has been written.</exception>
    public void Backward(ReadOnlySpan<float> x, ReadOnlySpan<float> dY, int rows, Linear gradients, Span<float> dX)
    {
        ArgumentNullException.ThrowIfNull(gradients);
        ArgumentOutOfRangeException.ThrowIfNegative(rows);
        if (gradients.InFeatures != InFeatures || gradients.OutFeatures != OutFeatures || gradients.HasBias != HasBias)
            throw new ArgumentException($"Expected gradients of a [{OutFeatures}, {InFeatures}] layer (bias: {HasBias}) but got [{gradients.OutFeatures}, {gradients.InFeatures}] (bias: {gradients.HasBias}).", nameof(gradients));
        Guard.Length(x.Length, Elements(rows, InFeatures, nameof(rows)), nameof(x));
        Guard.Length(dY.Length, Elements(rows, OutFeatures, nameof(rows)), nameof(dY));
        // Everything this call writes (the gradients' tensors and dX) must be apart from everything it reads and from each other.
        Span<float> dWeight = gradients.Weight, dBias = gradients.Bias;
        string dWeightName = gradients.GradientWeightName, dBiasName = gradients.GradientBiasName;
        CheckApart(dWeight, dWeightName, x, dY);
        CheckApart(dBias, dBiasName, x, dY);
        Guard.NoPartialOverlap(dWeight, dBias, dWeightName, dBiasName, allowInPlace: false);
        if (!dX.IsEmpty)
        {
            Guard.Length(dX.Length, Elements(rows, InFeatures, nameof(rows)), nameof(dX));
            Guard.NoPartialOverlap(dY, dX, nameof(dY), nameof(dX), allowInPlace: false);
            Guard.NoPartialOverlap(x, dX, nameof(x), nameof(dX), allowInPlace: false);
            Guard.NoPartialOverlap(Weight, dX, WeightName, nameof(dX), allowInPlace: false);
            Guard.NoPartialOverlap(Bias, dX, BiasName, nameof(dX), allowInPlace: false);
            Guard.NoPartialOverlap(dWeight, dX, dWeightName, nameof(dX), allowInPlace: false);
            Guard.NoPartialOverlap(dBias, dX, dBiasName, nameof(dX), allowInPlace: false);
        }
        Kernels.Gemm(Transpose.Transposed, Transpose.None, OutFeatures, InFeatures, rows, 1f, dY, OutFeatures, x, InFeatures, 1f, dWeight, InFeatures);
        if (HasBias)
        {
            for (int r = 0; r < rows; r++)
                Kernels.Axpy(1f, dY.Slice(r * OutFeatures, OutFeatures), dBias);
        }
        if (!dX.IsEmpty)
            Kernels.Gemm(Transpose.None, Transpose.None, rows, InFeatures, OutFeatures, 1f, dY, OutFeatures, Weight, InFeatures, 0f, dX, InFeatures);
    }

    // Names for messages, built once so that validation allocates nothing.
    private string WeightName { get; }

    private string BiasName { get; }

    private string GradientWeightName { get; }

    private string GradientBiasName { get; }

    /// <summary>rows · features as an int, or an <see cref="ArgumentOutOfRangeException"/> naming <paramref name="rowsName"/> when it does not fit.</summary>
    private static int Elements(int rows, int features, string rowsName)
    {
        long count = (long)rows * features;
        if (count > Array.MaxLength)
            throw new ArgumentOutOfRangeException(rowsName, rows, $"{rows} rows of {features} features ({count} elements) do not fit in one array.");
        return (int)count;
    }

    private void CheckApart(ReadOnlySpan<float> written, string writtenName, ReadOnlySpan<float> x, ReadOnlySpan<float> dY)
    {
        ReadOnlySpan<float> weight = Weight, bias = Bias;
        Guard.NoPartialOverlap(x, written, nameof(x), writtenName, allowInPlace: false);
        Guard.NoPartialOverlap(dY, written, nameof(dY), writtenName, allowInPlace: false);
        Guard.NoPartialOverlap(weight, written, WeightName, writtenName, allowInPlace: false);
        Guard.NoPartialOverlap(bias, written, BiasName, writtenName, allowInPlace: false);
    }
}
