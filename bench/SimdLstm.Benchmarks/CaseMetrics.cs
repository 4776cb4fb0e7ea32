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

    /// <summary>An inference pass over B = 16 streams (a sequence-shape case); time per token. Weights are reused across the streams, so the FMA peak bounds it.</summary>
    BatchSequence,

    /// <summary>Read bandwidth over a weight-sized buffer.</summary>
    Bandwidth,

    /// <summary>A packed batch-1 step at some weight precision (<see cref="PrecisionBench"/>); time per step.</summary>
    PrecisionStep,

    /// <summary>Read bandwidth over a buffer of a packed copy's weight bytes (<see cref="PackedReadBench"/>).</summary>
    PackedRead,

    /// <summary>The FMA peak loop.</summary>
    FmaPeak,
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
    /// <summary>
    /// Threads the case runs on (its method name ends in <c>TwoThreads</c> for 2). Its limit is the one-core limit divided
    /// by this: each core brings its own FMA units and L2 cache.
    /// </summary>
    public int Threads { get; init; } = 1;

    /// <summary>Directions of the pass (2 for a bidirectional sequence-shape case): each streams its own W_hh per step.</summary>
    public int Directions { get; init; } = 1;

    /// <summary>The precision of the packed weights (of a precision step or a packed read; fp32 for every other case).</summary>
    public PackedPrecision Precision { get; init; } = PackedPrecision.Float32;

    /// <summary>The cell of a precision class, by class name (<c>LstmPrecisionBench</c>, <c>GruPrecisionBench</c>); null for any other.</summary>
    public static CellKind? PrecisionCellOf(string type) => type switch
    {
        nameof(LstmPrecisionBench) => CellKind.Lstm,
        nameof(GruPrecisionBench) => CellKind.Gru,
        _ => null,
    };

    /// <summary>
    /// The cell of a sequence-shape class, by class name: ours (<c>LstmSequenceShapeBench</c>, <c>GruSequenceShapeBench</c>)
    /// and the peers' (<c>OnnxRuntimeBidirectionalBench</c>, <c>TorchBidirectionalBench</c> are LSTM,
    /// <c>OnnxRuntimeGruBidirectionalBench</c>, <c>TorchGruBidirectionalBench</c> GRU). Null for any other class.
    /// </summary>
    public static CellKind? SequenceShapeCellOf(string type) => type switch
    {
        nameof(LstmSequenceShapeBench) or "OnnxRuntimeBidirectionalBench" or "TorchBidirectionalBench" => CellKind.Lstm,
        nameof(GruSequenceShapeBench) or "OnnxRuntimeGruBidirectionalBench" or "TorchGruBidirectionalBench" => CellKind.Gru,
        _ => null,
    };

    /// <summary>
    /// The cell a class of cell cases measures, by class name: ours (<c>LstmBench</c>, <c>GruBench</c>, <c>RnnBench</c>) and
    /// the peers' (<c>OnnxRuntimeBench</c> and <c>TorchBench</c> are LSTM, <c>OnnxRuntimeGruBench</c> and <c>TorchGruBench</c>
    /// GRU; the peers' project is separate, so their names are spelled out). Null for any other class.
    /// </summary>
    public static CellKind? CellOf(string type) => type switch
    {
        nameof(LstmBench) or "OnnxRuntimeBench" or "TorchBench" => CellKind.Lstm,
        nameof(GruBench) or "OnnxRuntimeGruBench" or "TorchGruBench" => CellKind.Gru,
        nameof(RnnBench) => CellKind.Rnn,
        _ => null,
    };

    /// <summary>Describes <paramref name="key"/> (see <see cref="CellOf"/> for the cell of a class).</summary>
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
            case nameof(PackedReadBench):
            {
                CellKind cell = Enum.Parse<CellKind>(key.Parameter("Cell") ?? nameof(CellKind.Lstm));
                PackedPrecision precision = Enum.Parse<PackedPrecision>(key.Parameter("Precision") ?? nameof(PackedPrecision.Float32));
                return new(CaseKind.PackedRead, cell, size, 0, PackedReadBench.Bytes(cell, size, precision)) { Precision = precision };
            }
        }
        if (PrecisionCellOf(key.Type) is CellKind precisionCell)
        {
            if (key.Method != nameof(PrecisionBench.Step) || size == 0)
                return new(CaseKind.Other, precisionCell, size, 0, 0);
            PackedPrecision precision = Enum.Parse<PackedPrecision>(key.Parameter("Precision") ?? nameof(PackedPrecision.Float32));
            // The counted multiply-adds are those of the fp32 step, whatever the weights' precision.
            return new(CaseKind.PrecisionStep, precisionCell, size, BenchCases.StepFlops(precisionCell, size),
                PrecisionBench.WeightBytes(precisionCell, size, precision)) { Precision = precision };
        }
        if (SequenceShapeCellOf(key.Type) is CellKind shapeCell)
        {
            if (SequenceShapes.Of(key.Method) is not Shape shape)
                return new(CaseKind.Other, shapeCell, size, 0, 0);
            // Per reported operation: the FLOPs of the real tokens (every direction), and the W_hh bytes each direction
            // streams per step (once per step for all streams of the batch).
            double flops = shape.Directions * BenchCases.StepFlops(shapeCell, size) * shape.Tokens / shape.Operations;
            double bytes = shape.Directions * 4.0 * BenchCases.RecurrentWeightCount(shapeCell, size) * SequenceShapes.Steps / shape.Operations;
            return new(shape.Batch == 1 ? CaseKind.Sequence : CaseKind.BatchSequence, shapeCell, size, flops, bytes) { Directions = shape.Directions };
        }
        if (CellOf(key.Type) is not CellKind kind)
            return new(CaseKind.Other, CellKind.Lstm, size, 0, 0);
        int threads = key.Method.EndsWith("TwoThreads", StringComparison.Ordinal) ? 2 : 1;
        CaseWork work = key.Method switch
        {
            "Step" or "StepTwoThreads" or "LayerStep" => new(CaseKind.Step, kind, size, BenchCases.StepFlops(kind, size), 4.0 * BenchCases.WeightCount(kind, size)),
            "Sequence" or "SequenceTwoThreads" or "LayerSequence" => new(CaseKind.Sequence, kind, size, BenchCases.StepFlops(kind, size), 4.0 * BenchCases.RecurrentWeightCount(kind, size)),
            "Train" or "TrainTwoThreads" => new(CaseKind.Train, kind, size, BenchCases.TrainFlops(kind, size), 0),
            _ => new(CaseKind.Other, kind, size, 0, 0),
        };
        return work with { Threads = threads };
    }

    /// <summary>
    /// The fastest this case could run on this core, in ns per operation, from the limits measured in the same run:
    /// a step must stream all weights once (bandwidth over a buffer of that size) and do its FLOPs (FMA peak), so its
    /// floor is the larger of the two; a sequence step streams only W_hh (the input projection is one product over all
    /// steps, whose weights stay in cache) but still does all its FLOPs; training reuses each weight over 32 streams and
    /// is bound by the FMA peak, as is a B = 16 sequence-shape pass (each W_hh read serves up to 16 streams). A bidirectional
    /// B = 1 pass streams both directions' W_hh per step. <paramref name="bandwidthNs"/> gives the mean ns of the bandwidth case for a cell, size
    /// and weight set (null when not measured); <paramref name="peakGflops"/> is null when the peak was not measured.
    /// A precision step's floor is its packed weight bytes over the read bandwidth of a buffer of those bytes: the mean ns
    /// of the <see cref="PackedReadBench"/> case of its cell, size and precision, from <paramref name="packedReadNs"/> (the
    /// FMA peak is not used: an fp32 step's FLOPs take about half its memory time here, and the bf16 and int8 steps'
    /// multiplies are not fp32 FMAs).
    /// </summary>
    public double? LimitNs(Func<CellKind, int, WeightSet, double?> bandwidthNs, double? peakGflops,
        Func<CellKind, int, PackedPrecision, double?>? packedReadNs = null)
    {
        ArgumentNullException.ThrowIfNull(bandwidthNs);
        if (Kind == CaseKind.PrecisionStep)
            return packedReadNs?.Invoke(Cell, Size, Precision) is double read ? read / Threads : null;
        if (peakGflops is not double peak)
            return null;
        double computeNs = Flops / peak; // FLOP / (GFLOP/s) = ns
        switch (Kind)
        {
            case CaseKind.Step:
            case CaseKind.Sequence:
                double? memoryNs = bandwidthNs(Cell, Size, Kind == CaseKind.Step ? WeightSet.All : WeightSet.Recurrent);
                return memoryNs is double m ? Math.Max(m * Directions, computeNs) / Threads : null;
            case CaseKind.BatchSequence:
            case CaseKind.Train:
                return computeNs / Threads;
            default:
                return null;
        }
    }
}
