using System;
using System.Collections.Generic;

namespace SimdLstm;

/// <summary>
/// A lookup table of token vectors (PyTorch's <c>nn.Embedding</c>): <c>{prefix}weight</c> [V, E], as a view into a
/// <see cref="ParameterBuffer"/>; row v is token v's vector. Stateless apart from its weights; a second instance over a
/// gradient buffer of the same layout views the gradients.
/// </summary>
public sealed class Embedding
{
    private readonly Memory<float> _weight;

    /// <summary>Views <c>{prefix}weight</c> in <paramref name="buffer"/>.</summary>
    /// <exception cref="ArgumentException">The tensor is missing or has the wrong shape.</exception>
    public Embedding(int numEmbeddings, int embeddingDim, ParameterBuffer buffer, string prefix = "embedding.")
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numEmbeddings, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(embeddingDim, 1);
        ArgumentNullException.ThrowIfNull(buffer);
        ArgumentNullException.ThrowIfNull(prefix);
        if ((long)numEmbeddings * embeddingDim > Array.MaxLength)
            throw new ArgumentOutOfRangeException(nameof(numEmbeddings), numEmbeddings, $"A [{numEmbeddings}, {embeddingDim}] table would not fit in one array.");
        NumEmbeddings = numEmbeddings;
        EmbeddingDim = embeddingDim;
        Prefix = prefix;
        string name = prefix + "weight", expected = $"[{numEmbeddings}, {embeddingDim}]";
        if (!buffer.Contains(name))
            throw new ArgumentException($"The parameter buffer has no tensor '{name}' (expected shape {expected}).", nameof(buffer));
        string actual = buffer.Describe(name).ShapeText;
        if (actual != expected)
            throw new ArgumentException($"Tensor '{name}' has shape {actual}; expected {expected}.", nameof(buffer));
        _weight = buffer[name];
    }

    /// <summary>V, the number of tokens.</summary>
    public int NumEmbeddings { get; }

    /// <summary>E, the size of each vector.</summary>
    public int EmbeddingDim { get; }

    /// <summary>The prefix of the tensor name.</summary>
    public string Prefix { get; }

    /// <summary>The table, row-major [V, E].</summary>
    public Span<float> Weight => _weight.Span;

    /// <summary>The name and shape of the layer's tensor.</summary>
    public static IEnumerable<(string Name, int[] Shape)> Layout(int numEmbeddings, int embeddingDim, string prefix = "embedding.")
    {
        yield return (prefix + "weight", new[] { numEmbeddings, embeddingDim });
    }

    /// <summary>Fills the table with N(0, 1) draws, PyTorch's default for <c>nn.Embedding</c>, from <paramref name="random"/>.</summary>
    public void InitializeNormal(Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        Span<float> weight = Weight;
        for (int i = 0; i < weight.Length; i += 2)
        {
            // Box–Muller: two independent standard normals from two uniforms in (0, 1].
            double u1 = 1.0 - random.NextDouble(), u2 = random.NextDouble();
            double radius = Math.Sqrt(-2.0 * Math.Log(u1));
            weight[i] = (float)(radius * Math.Cos(2 * Math.PI * u2));
            if (i + 1 < weight.Length)
                weight[i + 1] = (float)(radius * Math.Sin(2 * Math.PI * u2));
        }
    }

    /// <summary>output[r] = weight[tokens[r]] for each token. // tokens [N], output [N, E] (overwritten)</summary>
    /// <exception cref="ArgumentException">A length does not match, or a token is outside [0, V); nothing has been written.</exception>
    public void Forward(ReadOnlySpan<int> tokens, Span<float> output)
    {
        Guard.Length(output.Length, checked(tokens.Length * EmbeddingDim), nameof(output));
        ValidateTokens(tokens);
        Gather(tokens, output);
    }

    /// <summary>
    /// gradients.weight[tokens[r]] += dOutput[r] for each token, in order (so a token seen twice sums its rows in that
    /// order). // tokens [N], dOutput [N, E]
    /// </summary>
    /// <exception cref="ArgumentException">A length or the gradients' shape does not match, or a token is outside [0, V); nothing has been written.</exception>
    public void Backward(ReadOnlySpan<int> tokens, ReadOnlySpan<float> dOutput, Embedding gradients)
    {
        ArgumentNullException.ThrowIfNull(gradients);
        if (gradients.NumEmbeddings != NumEmbeddings || gradients.EmbeddingDim != EmbeddingDim)
            throw new ArgumentException($"Expected gradients of a [{NumEmbeddings}, {EmbeddingDim}] table, got [{gradients.NumEmbeddings}, {gradients.EmbeddingDim}].", nameof(gradients));
        Guard.Length(dOutput.Length, checked(tokens.Length * EmbeddingDim), nameof(dOutput));
        ValidateTokens(tokens);
        if (dOutput.Overlaps(gradients.Weight))
            throw new ArgumentException("dOutput overlaps the gradients it is added to.", nameof(dOutput));
        Scatter(tokens, dOutput, gradients.Weight);
    }

    // The unchecked forms, for callers that validated (a model skips padded positions, marked by a negative token).
    internal void Gather(ReadOnlySpan<int> tokens, Span<float> output)
    {
        int e = EmbeddingDim;
        ReadOnlySpan<float> weight = Weight;
        for (int r = 0; r < tokens.Length; r++)
        {
            if (tokens[r] < 0)
                output.Slice(r * e, e).Clear();
            else
                weight.Slice(tokens[r] * e, e).CopyTo(output.Slice(r * e, e));
        }
    }

    internal void Scatter(ReadOnlySpan<int> tokens, ReadOnlySpan<float> dOutput, Span<float> gradient)
    {
        int e = EmbeddingDim;
        for (int r = 0; r < tokens.Length; r++)
        {
            if (tokens[r] >= 0)
                Kernels.Axpy(1f, dOutput.Slice(r * e, e), gradient.Slice(tokens[r] * e, e));
        }
    }

    private void ValidateTokens(ReadOnlySpan<int> tokens)
    {
        for (int i = 0; i < tokens.Length; i++)
        {
            if ((uint)tokens[i] >= (uint)NumEmbeddings)
                throw new ArgumentOutOfRangeException(nameof(tokens), tokens[i], $"Token at index {i} is {tokens[i]}; expected a value in [0, {NumEmbeddings}).");
        }
    }
}
