using System;
using System.Collections.Generic;
using System.Globalization;

namespace SimdLstm.Benchmarks;

/// <summary>The shapes every benchmark (ours and the peers') runs, and the work each case does.</summary>
public static class BenchCases
{
    /// <summary>T of the inference sequence case.</summary>
    public const int SequenceSteps = 100;

    /// <summary>B of the training case.</summary>
    public const int TrainBatch = 32;

    /// <summary>T of the training case.</summary>
    public const int TrainSteps = 50;

    /// <summary>The environment variable that narrows the sizes, e.g. <c>SIMDLSTM_BENCH_SIZES=64,256</c>.</summary>
    public const string SizesVariable = "SIMDLSTM_BENCH_SIZES";

    private static readonly int[] s_allSizes = [64, 128, 256, 512, 1024];

    /// <summary>
    /// I = H of every case: 64 … 1024, or the subset named in <see cref="SizesVariable"/> (a quick run). BenchmarkDotNet
    /// evaluates this in the host and passes the chosen value to each benchmark process, so the variable only needs to be
    /// set for the host.
    /// </summary>
    public static IEnumerable<int> Sizes()
    {
        string? text = Environment.GetEnvironmentVariable(SizesVariable);
        if (string.IsNullOrWhiteSpace(text))
            return s_allSizes;
        var sizes = new List<int>();
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out int size) || size < 1)
                throw new FormatException($"{SizesVariable} must be a comma-separated list of positive sizes; got '{text}'.");
            sizes.Add(size);
        }
        return sizes;
    }

    /// <summary>The shape of every cell case: one layer of <paramref name="cell"/> with I = H = <paramref name="size"/>, with biases.</summary>
    public static RecurrentOptions Options(CellKind cell, int size) => new(cell, size, size);

    /// <summary>Gate blocks G of the cell, as the library counts them (<see cref="RecurrentOptions.GateCount"/>).</summary>
    public static int Gates(CellKind cell) => Options(cell, 1).GateCount;

    /// <summary>Weight elements of one layer with I = H = <paramref name="size"/>: G·H·(I + H) (biases are negligible and left out).</summary>
    public static long WeightCount(CellKind cell, int size) => (long)Options(cell, size).GateSize * (size + size);

    /// <summary>Elements of W_hh alone: G·H·H.</summary>
    public static long RecurrentWeightCount(CellKind cell, int size) => (long)Options(cell, size).GateSize * size;

    /// <summary>
    /// FLOPs of one forward step of one stream: 2·G·H·(I + H), the two matrix–vector products (a multiply and an add per
    /// weight). The pointwise gate math is O(H) and not counted, as is usual for RNN FLOP counts.
    /// </summary>
    public static double StepFlops(CellKind cell, int size) => 2.0 * WeightCount(cell, size);

    /// <summary>
    /// FLOPs of one training pass (forward + backward) over B·T tokens: 3 × 2·G·H·(I + H) per token — the forward products,
    /// the products that carry the gradient back to h and x, and the weight-gradient products.
    /// </summary>
    public static double TrainFlops(CellKind cell, int size) => 3 * StepFlops(cell, size) * TrainBatch * TrainSteps;
}
