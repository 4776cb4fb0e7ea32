using System;
using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace SimdLstm.Benchmarks;

/// <summary>
/// A summary column that divides a per-operation amount of work (bytes or floating-point operations)
/// by the measured mean time: work per nanosecond is GB/s or GFLOP/s.
/// </summary>
internal sealed class GemmThroughputColumn(string columnName, string legend, Func<BenchmarkCase, double> workPerOperation) : IColumn
{
    /// <summary>Single-core AVX2 FMA peak of the reference machine (see PERF-NOTES), for the % column.</summary>
    public const double PeakGflops = 113.0;

    public string Id => nameof(GemmThroughputColumn) + "." + ColumnName;

    public string ColumnName { get; } = columnName;

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend { get; } = legend;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        BenchmarkReport? report = summary[benchmarkCase];
        if (report?.ResultStatistics is not { } statistics || statistics.Mean <= 0)
            return "NA";
        return (workPerOperation(benchmarkCase) / statistics.Mean).ToString("F1", CultureInfo.InvariantCulture);
    }

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
}
