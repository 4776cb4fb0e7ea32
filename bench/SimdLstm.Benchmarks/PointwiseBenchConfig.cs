using System;
using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace SimdLstm.Benchmarks;

/// <summary>Memory diagnoser, ratio to the baseline, and throughput in elements per nanosecond.</summary>
public sealed class PointwiseBenchConfig : ManualConfig
{
    public PointwiseBenchConfig()
    {
        AddDiagnoser(MemoryDiagnoser.Default);
        AddColumn(new ElementsPerSecondColumn());
        HideColumns(Column.Error, Column.StdDev);
    }
}

/// <summary>Throughput: the benchmark's <c>Length</c> parameter divided by its mean time (elements/ns = Gelem/s).</summary>
public sealed class ElementsPerSecondColumn : IColumn
{
    public string Id => nameof(ElementsPerSecondColumn);

    public string ColumnName => "Gelem/s";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => "Elements processed per nanosecond (Length / Mean)";

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        BenchmarkReport? report = summary[benchmarkCase];
        object? length = benchmarkCase.Parameters["Length"];
        if (report?.ResultStatistics is null || length is null)
            return "-";
        double n = Convert.ToDouble(length, CultureInfo.InvariantCulture);
        return (n / report.ResultStatistics.Mean).ToString("F2", CultureInfo.InvariantCulture);
    }
}
