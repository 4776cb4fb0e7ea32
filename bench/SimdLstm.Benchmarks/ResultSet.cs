using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;

namespace SimdLstm.Benchmarks;

/// <summary>One case read back from a BenchmarkDotNet full JSON export.</summary>
/// <param name="Key">Class, method and parameters.</param>
/// <param name="MeanNs">Mean time per operation, ns.</param>
/// <param name="MarginNs">Half-width of BenchmarkDotNet's 99.9 % confidence interval of the mean, ns.</param>
/// <param name="StdDevNs">Standard deviation of the measurements, ns.</param>
/// <param name="AllocatedBytes">Bytes allocated per operation (null without the memory diagnoser).</param>
public sealed record CaseResult(CaseKey Key, double MeanNs, double MarginNs, double StdDevNs, long? AllocatedBytes)
{
    /// <summary>A stable name for matching runs: <c>Type.Method(Size=64, Cell=Lstm)</c>.</summary>
    public string Name => $"{Key.Type}.{Key.Method}({string.Join(", ", Key.Parameters.Select(p => p.Key + "=" + p.Value))})";
}

/// <summary>The cases of one or more BenchmarkDotNet JSON exports, with the host they ran on.</summary>
public sealed class ResultSet
{
    private ResultSet(List<CaseResult> cases, Dictionary<string, string> host)
    {
        Cases = cases;
        Host = host;
    }

    /// <summary>Every case that produced a measurement.</summary>
    public IReadOnlyList<CaseResult> Cases { get; }

    /// <summary>HostEnvironmentInfo fields of the first export (ProcessorName, RuntimeVersion, …) as text.</summary>
    public IReadOnlyDictionary<string, string> Host { get; }

    /// <summary>Reads files, or every <c>*-report-full.json</c> in directories.</summary>
    public static ResultSet Load(IEnumerable<string> paths)
    {
        ArgumentNullException.ThrowIfNull(paths);
        var cases = new List<CaseResult>();
        var host = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string path in paths)
        {
            IEnumerable<string> files = Directory.Exists(path)
                ? Directory.EnumerateFiles(path, "*-report-full.json", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
                : [path];
            foreach (string file in files)
                Read(file, cases, host);
        }
        return new ResultSet(cases, host);
    }

    /// <summary>The first case matching <paramref name="predicate"/>, or null.</summary>
    public CaseResult? Find(Func<CaseKey, bool> predicate) => Cases.FirstOrDefault(c => predicate(c.Key));

    /// <summary>The measured FMA peak in GFLOP/s, or null.</summary>
    public double? PeakGflops() =>
        Find(k => k.Type == nameof(FmaPeakBench)) is CaseResult r ? FmaPeakBench.Flops / r.MeanNs : null;

    /// <summary>The mean ns of the bandwidth case for a cell, size and weight set, or null.</summary>
    public double? BandwidthNs(CellKind cell, int size, WeightSet weights) =>
        Find(k => k.Type == nameof(BandwidthBench) && k.Parameter("Cell") == cell.ToString()
            && k.Parameter("Size") == size.ToString(System.Globalization.CultureInfo.InvariantCulture)
            && k.Parameter("Weights") == weights.ToString())?.MeanNs;

    /// <summary>The mean ns of the packed-read case (<see cref="PackedReadBench"/>) for a cell, size and precision, or null.</summary>
    public double? PackedReadNs(CellKind cell, int size, PackedPrecision precision) =>
        Find(k => k.Type == nameof(PackedReadBench) && k.Parameter("Cell") == cell.ToString()
            && k.Parameter("Size") == size.ToString(System.Globalization.CultureInfo.InvariantCulture)
            && k.Parameter("Precision") == precision.ToString())?.MeanNs;

    /// <summary>The floor time of a case from this set's limits, ns, or null.</summary>
    public double? LimitNs(CaseKey key) => CaseWork.Of(key).LimitNs(BandwidthNs, PeakGflops(), PackedReadNs);

    private static void Read(string file, List<CaseResult> cases, Dictionary<string, string> host)
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(file));
        JsonElement root = doc.RootElement;
        if (host.Count == 0 && root.TryGetProperty("HostEnvironmentInfo", out JsonElement info) && info.ValueKind == JsonValueKind.Object)
        {
            foreach (JsonProperty p in info.EnumerateObject())
            {
                if (p.Value.ValueKind is JsonValueKind.String or JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False)
                    host[p.Name] = p.Value.ToString();
            }
        }
        if (!root.TryGetProperty("Benchmarks", out JsonElement benchmarks))
            throw new InvalidDataException($"{file} is not a BenchmarkDotNet full JSON export (no 'Benchmarks').");
        foreach (JsonElement b in benchmarks.EnumerateArray())
        {
            if (!b.TryGetProperty("Statistics", out JsonElement stats) || stats.ValueKind != JsonValueKind.Object)
                continue; // a case that failed has no statistics
            var key = new CaseKey(b.GetProperty("Type").GetString() ?? "", b.GetProperty("Method").GetString() ?? "",
                CaseKey.ParseParameters(b.TryGetProperty("Parameters", out JsonElement p) ? p.GetString() : null));
            double margin = stats.TryGetProperty("ConfidenceInterval", out JsonElement ci) ? ci.GetProperty("Margin").GetDouble() : 0;
            long? allocated = b.TryGetProperty("Memory", out JsonElement memory) && memory.ValueKind == JsonValueKind.Object
                ? memory.GetProperty("BytesAllocatedPerOperation").GetInt64() : null;
            cases.Add(new CaseResult(key, stats.GetProperty("Mean").GetDouble(), margin, stats.GetProperty("StandardDeviation").GetDouble(), allocated));
        }
    }
}
