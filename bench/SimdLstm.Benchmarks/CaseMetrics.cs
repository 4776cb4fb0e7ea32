using System;
using System.Collections.Generic;

namespace SimdLstm.Benchmarks;

/// <summary>What a benchmark case measures.</summary>
public enum CaseKind
{
    /// <summary>Not one of the cases below (for example a kernel benchmark).</summary>
    Other = 0,

    /// <summary>A streaming step at batch 1; time per step.</summary>
    Step,

    /// <summary>A T = 100 inference sequence at batch 1; time per step.</summary>
    Sequence,

    /// <summary>Forward + backward over B = 32, T = 50; time per pass.</summary>
    Train,

    /// <summary>Read bandwidth over a weight-sized buffer.</summary>
    Bandwidth,

    /// <summary>The FMA peak loop.</summary>
    FmaPeak,

    /// <summary>As <see cref="Train"/> on a 2-thread <see cref="ComputePool"/>; time per pass.</summary>
    TrainTwoThreads,
}

/// <summary>
/// A benchmark case by name, as both a live BenchmarkDotNet case and an exported JSON report describe it: the class name,
/// the method name and the parameters (<c>Size=64</c>, <c>Cell=Lstm</c>, …). Peers' classes are named after the peer.
/// </summary>
public sealed record CaseKey(string Type, string Method, IReadOnlyDictionary<string, string> Parameters)
{
    /// <summary>A parameter's value, or <c>null</c>.</summary>
    public string? Parameter(string name) => Parameters.TryGetValue(name, out string? value) ? value : null;

    /// <summary>Parses BenchmarkDotNet's parameter text, <c>Size=64&amp;Cell=Lstm</c> (empty for none).</summary>
    public static Dictionary<string, string> ParseParameters(string? text)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        if (string.IsNullOrEmpty(text))
            return result;
        foreach (string pair in text.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            int eq = pair.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
                result[pair[..eq]] = pair[(eq + 1)..];
        }
        return result;
    }
}

/// <summary>The work a case does and which measurements bound it.</summary>
/// <param name="Kind">What is measured.</param>
/// <param name="Cell">The cell whose shape the case has (LSTM when the case has none).</param>
/// <param name="Size">I = H (0 when the case has none).</param>
/// <param name="Flops">FLOPs per reported operation (0 when not meaningful).</param>
/// <param name="Bytes">Weight bytes per reported operation: read by a bandwidth case, streamed by a batch-1 step.</param>
public sealed record CaseWork(CaseKind Kind, CellKind Cell, int Size, double Flops, double Bytes)
{
    /// <summary>Describes <paramref name="key"/>; peers' classes (OnnxRuntimeBench, TorchBench) are LSTM cases.</summary>
    public static CaseWork Of(CaseKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        int size = int.TryParse(key.Parameter("Size"), out int s) ? s : 0;
        switch (key.Type)
        {
            case nameof(BandwidthBench):
            {
                CellKind cell = Enum.Parse<CellKind>(key.Parameter("Cell") ?? nameof(CellKind.Lstm));
                WeightSet set = Enum.Parse<WeightSet>(key.Parameter("Weights") ?? nameof(WeightSet.All));
                return new(CaseKind.Bandwidth, cell, size, 0, BandwidthBench.Bytes(cell, size, set));
            }
            case nameof(FmaPeakBench):
                return new(CaseKind.FmaPeak, CellKind.Lstm, 0, FmaPeakBench.Flops, 0);
        }
        CellKind kind = key.Type.StartsWith("Rnn", StringComparison.Ordinal) ? CellKind.Rnn : CellKind.Lstm;
        return key.Method switch
        {
            "Step" => new(CaseKind.Step, kind, size, BenchCases.StepFlops(kind, size), 4.0 * BenchCases.WeightCount(kind, size)),
            "Sequence" => new(CaseKind.Sequence, kind, size, BenchCases.StepFlops(kind, size), 4.0 * BenchCases.RecurrentWeightCount(kind, size)),
            "Train" => new(CaseKind.Train, kind, size, BenchCases.TrainFlops(kind, size), 0),
            "TrainTwoThreads" => new(CaseKind.TrainTwoThreads, kind, size, BenchCases.TrainFlops(kind, size), 0),
            _ => new(CaseKind.Other, kind, size, 0, 0),
        };
    }

    /// <summary>
    /// The fastest this case could run on this core, in ns per operation, from the limits measured in the same run:
    /// a step must stream all weights once (bandwidth over a buffer of that size) and do its FLOPs (FMA peak), so its
    /// floor is the larger of the two; a sequence step streams only W_hh (the input projection is one product over all
    /// steps, whose weights stay in cache) but still does all its FLOPs; training reuses each weight over 32 streams and
    /// is bound by the FMA peak. <paramref name="bandwidthNs"/> gives the mean ns of the bandwidth case for a cell, size
    /// and weight set (null when not measured); <paramref name="peakGflops"/> is null when the peak was not measured.
    /// </summary>
    public double? LimitNs(Func<CellKind, int, WeightSet, double?> bandwidthNs, double? peakGflops)
    {
        ArgumentNullException.ThrowIfNull(bandwidthNs);
        if (peakGflops is not double peak)
            return null;
        double computeNs = Flops / peak; // FLOP / (GFLOP/s) = ns
        switch (Kind)
        {
            case CaseKind.Step:
            case CaseKind.Sequence:
                double? memoryNs = bandwidthNs(Cell, Size, Kind == CaseKind.Step ? WeightSet.All : WeightSet.Recurrent);
                return memoryNs is double m ? Math.Max(m, computeNs) : null;
            case CaseKind.Train:
                return computeNs;
            case CaseKind.TrainTwoThreads:
                return computeNs / 2; // two cores, each at the one-core peak measured
            default:
                return null;
        }
    }
}
