using System;

namespace SimdLstm;

/// <summary>
/// The input of a sequence pass, described once: dense vectors or tokens, time-major or batch-first, and optional
/// per-stream lengths (PyTorch's <c>pack_padded_sequence</c> lengths, ONNX's <c>sequence_lens</c>).
/// </summary>
/// <remarks>
/// <para>Dense inputs are [T, B, I] (batch-first: [B, T, I]); tokens are [T, B] (batch-first: [B, T]), each in [0, I),
/// applied as a column of <c>weight_ih_l0</c>. B is the state's batch size.</para>
/// <para>With lengths, stream b runs steps 0 … lengths[b] − 1 (the reverse direction of a bidirectional layer starts at
/// its own last step); its outputs past its length are zero, its final state is the state at its own last step, the input
/// past its length is never read, and backward never reads dOutput there. Lengths may come in any order.</para>
/// </remarks>
public readonly ref struct SequenceInput
{
    private SequenceInput(ReadOnlySpan<float> values, ReadOnlySpan<int> tokens, bool isTokens, int steps, bool batchFirst, ReadOnlySpan<int> lengths)
    {
        Values = values;
        Tokens = tokens;
        IsTokens = isTokens;
        Steps = steps;
        BatchFirst = batchFirst;
        Lengths = lengths;
    }

    /// <summary>Dense inputs: [T, B, I], or [B, T, I] when <paramref name="batchFirst"/>; lengths [B] or empty (every stream T long).</summary>
    public static SequenceInput Dense(ReadOnlySpan<float> values, int steps, bool batchFirst = false, ReadOnlySpan<int> lengths = default) =>
        new(values, ReadOnlySpan<int>.Empty, isTokens: false, steps, batchFirst, lengths);

    /// <summary>Token inputs: [T, B], or [B, T] when <paramref name="batchFirst"/>; lengths [B] or empty (every stream T long).</summary>
    public static SequenceInput FromTokens(ReadOnlySpan<int> tokens, int steps, bool batchFirst = false, ReadOnlySpan<int> lengths = default) =>
        new(ReadOnlySpan<float>.Empty, tokens, isTokens: true, steps, batchFirst, lengths);

    /// <summary>The dense inputs (empty for tokens).</summary>
    public ReadOnlySpan<float> Values { get; }

    /// <summary>The tokens (empty for dense inputs).</summary>
    public ReadOnlySpan<int> Tokens { get; }

    /// <summary>Whether the inputs are tokens.</summary>
    public bool IsTokens { get; }

    /// <summary>T, the number of steps (the longest stream's length when lengths are given).</summary>
    public int Steps { get; }

    /// <summary>Whether the inputs (and the outputs of the pass) are batch-first.</summary>
    public bool BatchFirst { get; }

    /// <summary>Per-stream lengths, each in [1, T]; empty when every stream is T steps long.</summary>
    public ReadOnlySpan<int> Lengths { get; }
}
