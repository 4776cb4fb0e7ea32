using System;

namespace SimdLstm.Benchmarks;

/// <summary>
/// The shapes of the sequence-shape cases (ours and the peers'): bidirectional and unidirectional inference passes at
/// B = 1 and B = 16 with per-stream lengths, and a B = 16 pass whose lengths average T/2 against the same pass with every
/// stream T long. Shared by both benchmark projects, so the peers run exactly these lengths.
/// </summary>
public static class SequenceShapes
{
    /// <summary>T of every case: the padded length of the input and output buffers.</summary>
    public const int Steps = BenchCases.SequenceSteps;

    /// <summary>B of the batched cases.</summary>
    public const int Batch = 16;

    /// <summary>
    /// The lengths of the B = 16 cases (<c>…Batch</c>): drawn once from U{50 … 100} with <c>new Random(11).Next(50, 101)</c>
    /// and written out, so they cannot change with the runtime. Unsorted, as a caller's batch would be.
    /// </summary>
    public static ReadOnlySpan<int> BatchLengths => [74, 52, 73, 96, 58, 58, 92, 98, 67, 66, 70, 52, 59, 59, 84, 95];

    /// <summary>Σ <see cref="BatchLengths"/>: the tokens of a <c>…Batch</c> pass, and its <c>OperationsPerInvoke</c>.</summary>
    public const int BatchTokens = 1153;

    /// <summary>
    /// The lengths of the half-lengths case: 8 values d drawn from U{1 … 99} (<c>new Random(12).Next(1, 100)</c>), each
    /// followed by 100 − d, so the mean is exactly T/2 = 50 (Σ = 800) with a wide spread (1 … 99). Written out.
    /// </summary>
    public static ReadOnlySpan<int> HalfLengths => [99, 1, 34, 66, 16, 84, 12, 88, 62, 38, 5, 95, 28, 72, 46, 54];

    /// <summary>Σ <see cref="HalfLengths"/>.</summary>
    public const int HalfTokens = 800;

    /// <summary>Stream-steps of a B = 16 pass with every stream T long: T·B, the <c>OperationsPerInvoke</c> of both the half-lengths and the full-lengths case.</summary>
    public const int PaddedTokens = Steps * Batch;

    /// <summary>Checks the written-out lengths against their sums (a guard against an edit of one without the other).</summary>
    public static void Validate()
    {
        if (Sum(BatchLengths) != BatchTokens || Sum(HalfLengths) != HalfTokens || BatchLengths.Length != Batch || HalfLengths.Length != Batch)
            throw new InvalidOperationException("SequenceShapes: the lengths do not match their sums.");
    }

    /// <summary>The options of a sequence-shape case: one layer of <paramref name="cell"/> with I = H, biases, one or two directions.</summary>
    public static RecurrentOptions Options(CellKind cell, int size, bool bidirectional) =>
        new(cell, size, size, bidirectional: bidirectional);

    /// <summary>
    /// What a method of a sequence-shape class (ours or a peer's) runs: its directions, batch, the real tokens of one pass,
    /// and the operations one pass is reported as (its <c>OperationsPerInvoke</c>). Null for another method.
    /// </summary>
    public static Shape? Of(string method) => method switch
    {
        "Bidirectional" => new(2, 1, Steps, Steps),
        "Unidirectional" => new(1, 1, Steps, Steps),
        "BidirectionalBatch" or "LayerBidirectionalBatch" => new(2, Batch, BatchTokens, BatchTokens),
        "UnidirectionalBatch" => new(1, Batch, BatchTokens, BatchTokens),
        "HalfLengths" => new(1, Batch, HalfTokens, PaddedTokens),
        "FullLengths" => new(1, Batch, PaddedTokens, PaddedTokens),
        _ => null,
    };

    private static int Sum(ReadOnlySpan<int> values)
    {
        int sum = 0;
        foreach (int v in values)
            sum += v;
        return sum;
    }
}

/// <summary>The work of one sequence-shape pass.</summary>
/// <param name="Directions">1 or 2.</param>
/// <param name="Batch">B.</param>
/// <param name="Tokens">Σ lengths: the stream-steps that do work (each of them in every direction).</param>
/// <param name="Operations">What one pass is reported as: Σ lengths (per real token) or T·B (per padded slot).</param>
public sealed record Shape(int Directions, int Batch, int Tokens, int Operations);
