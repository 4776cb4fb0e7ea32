using System;
using System.Globalization;
using System.Linq;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace SimdLstm.Benchmarks;

/// <summary>
/// Columns derived from each case's mean time and the work it does (<see cref="CaseWork"/>): GFLOP/s, GB/s, tokens/s,
/// and the fraction of the hardware limit measured in the same summary. The limit needs <see cref="BandwidthBench"/> and
/// <see cref="FmaPeakBench"/> in the same summary (run with <c>--join</c>); otherwise the column reads "?" and
/// <c>bench/run.sh</c> computes it from the exported JSON instead.
/// </summary>
public sealed class MetricColumn : IColumn
{
    private readonly Func<Summary, BenchmarkCase, CaseWork, double, double?> _value;
    private readonly string _format;

    private MetricColumn(string name, string legend, string format, Func<Summary, BenchmarkCase, CaseWork, double, double?> value)
    {
        ColumnName = name;
        Id = nameof(MetricColumn) + "." + name;
        Legend = legend;
        _format = format;
        _value = value;
    }

    /// <summary>FLOPs per operation over the mean time.</summary>
    public static readonly MetricColumn Gflops = new("GFLOP/s", "Counted FLOPs per operation / Mean (2·G·H·(I+H) per step, 3× that per training token)", "F1",
        (_, _, work, meanNs) => work.Flops > 0 ? work.Flops / meanNs : null);

    /// <summary>Weight bytes per operation over the mean time.</summary>
    public static readonly MetricColumn Bandwidth = new("GB/s", "Weight bytes per operation / Mean (bytes read by a bandwidth case; all weights for a step, W_hh for a sequence step, the packed copy's WeightBytes for a precision step)", "F1",
        (_, _, work, meanNs) => work.Bytes > 0 ? work.Bytes / meanNs : null);

    /// <summary>Training tokens (B·T) per second.</summary>
    public static readonly MetricColumn Tokens = new("tokens/s", "Training tokens (B·T = 1600) per second", "N0",
        (_, _, work, meanNs) => work.Kind == CaseKind.Train ? BenchCases.TrainBatch * BenchCases.TrainSteps / (meanNs * 1e-9) : null);

    /// <summary>The case's floor time from the limits measured in the same summary.</summary>
    public static readonly MetricColumn Limit = new("Limit(us)", "Floor time per operation from the measured read bandwidth and FMA peak of this run (see CaseWork.LimitNs)", "F3",
        (summary, _, work, _) => work.LimitNs((c, s, w) => BandwidthMean(summary, c, s, w), PeakGflops(summary), (c, s, p) => PackedReadMean(summary, c, s, p)) / 1e3);

    /// <summary>Floor time over the mean time.</summary>
    public static readonly MetricColumn OfLimit = new("OfLimit", "Limit / Mean: the fraction of the hardware limit reached", "P1",
        (summary, _, work, meanNs) => work.LimitNs((c, s, w) => BandwidthMean(summary, c, s, w), PeakGflops(summary), (c, s, p) => PackedReadMean(summary, c, s, p)) / meanNs);

    /// <summary>All of them.</summary>
    public static IColumn[] All => [Gflops, Bandwidth, Tokens, Limit, OfLimit];

    /// <inheritdoc/>
    public string Id { get; }

    /// <inheritdoc/>
    public string ColumnName { get; }

    /// <inheritdoc/>
    public bool AlwaysShow => true;

    /// <inheritdoc/>
    public ColumnCategory Category => ColumnCategory.Custom;

    /// <inheritdoc/>
    public int PriorityInCategory => 0;

    /// <inheritdoc/>
    public bool IsNumeric => true;

    /// <inheritdoc/>
    public UnitType UnitType => UnitType.Dimensionless;

    /// <inheritdoc/>
    public string Legend { get; }

    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary?.Style!);

    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        ArgumentNullException.ThrowIfNull(summary);
        ArgumentNullException.ThrowIfNull(benchmarkCase);
        double? mean = summary[benchmarkCase]?.ResultStatistics?.Mean;
        CaseWork work = CaseWork.Of(KeyOf(benchmarkCase));
        if (work.Kind == CaseKind.Other)
            return "-";
        if (mean is not double meanNs || meanNs <= 0)
            return "?";
        double? value = _value(summary, benchmarkCase, work, meanNs);
        return value is double v ? v.ToString(_format, CultureInfo.InvariantCulture) : "-";
    }

    /// <inheritdoc/>
    public bool IsAvailable(Summary summary) => true;

    /// <inheritdoc/>
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    /// <summary>The name-based key of a live case.</summary>
    public static CaseKey KeyOf(BenchmarkCase benchmarkCase)
    {
        ArgumentNullException.ThrowIfNull(benchmarkCase);
        var parameters = benchmarkCase.Parameters.Items.ToDictionary(p => p.Name, p => Convert.ToString(p.Value, CultureInfo.InvariantCulture) ?? "", StringComparer.Ordinal);
        return new CaseKey(benchmarkCase.Descriptor.Type.Name, benchmarkCase.Descriptor.WorkloadMethod.Name, parameters);
    }

    private static double? BandwidthMean(Summary summary, CellKind cell, int size, WeightSet weights)
    {
        foreach (BenchmarkReport report in summary.Reports)
        {
            CaseWork work = CaseWork.Of(KeyOf(report.BenchmarkCase));
            if (work.Kind == CaseKind.Bandwidth && work.Cell == cell && work.Size == size
                && report.BenchmarkCase.Parameters["Weights"] is WeightSet w && w == weights)
                return report.ResultStatistics?.Mean;
        }
        return null;
    }

    private static double? PackedReadMean(Summary summary, CellKind cell, int size, PackedPrecision precision)
    {
        foreach (BenchmarkReport report in summary.Reports)
        {
            CaseWork work = CaseWork.Of(KeyOf(report.BenchmarkCase));
            if (work.Kind == CaseKind.PackedRead && work.Cell == cell && work.Size == size && work.Precision == precision)
                return report.ResultStatistics?.Mean;
        }
        return null;
    }

    private static double? PeakGflops(Summary summary)
    {
        BenchmarkReport? report = summary.Reports.FirstOrDefault(r => r.BenchmarkCase.Descriptor.Type == typeof(FmaPeakBench));
        return report?.ResultStatistics?.Mean is double mean ? FmaPeakBench.Flops / mean : null;
    }

    /// <inheritdoc/>
    public override string ToString() => ColumnName;
}
