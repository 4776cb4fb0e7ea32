using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Exporters;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Running;
using SimdLstm.Benchmarks;

// Besides BenchmarkDotNet's own command line, two tools for bench/run.sh:
//   report  --ours <json|dir>... [--peers <json|dir>...] --command <text> [--notes <text>] --out <file.md>
//   compare --old <json|dir>... --new <json|dir>... [--floor 0.05]     (exit code 1 when a case is slower beyond noise)
// and one by hand: shapes-probe [size...] — the fastest pass of each sequence-shape case (ShapeProbe), sizes as
// SIMDLSTM_BENCH_SIZES when none are given.
if (args.Length > 0 && args[0] is "report" or "compare")
    return Tools.Run(args);
if (args.Length > 0 && args[0] == "precision-accuracy")
    return PrecisionAccuracy.Run(args[1..]);
if (args.Length > 0 && args[0] == "shapes-probe")
{
    int[] sizes = args.Length > 1 ? [.. args.Skip(1).Select(a => int.Parse(a, CultureInfo.InvariantCulture))] : [.. BenchCases.Sizes()];
    ShapeProbe.Run(sizes, Console.Out);
    return 0;
}

IConfig config = DefaultConfig.Instance
    .AddDiagnoser(MemoryDiagnoser.Default)
    .AddColumn(MetricColumn.All)
    .AddExporter(JsonExporter.Full); // the default config already exports CSV
BenchmarkSwitcher.FromAssembly(typeof(CellBench).Assembly).Run(args, config);
return 0;

internal static class Tools
{
    public static int Run(string[] args)
    {
        try
        {
            Dictionary<string, List<string>> options = Parse(args.Skip(1));
            List<string> Get(string name) => options.TryGetValue(name, out List<string>? v) ? v : [];
            if (args[0] == "report")
            {
                ResultSet ours = ResultSet.Load(Get("--ours"));
                ResultSet peers = ResultSet.Load(Get("--peers"));
                string page = ReportWriter.Write(ours, peers, string.Join(' ', Get("--command")), string.Join(' ', Get("--notes")));
                string output = Get("--out").SingleOrDefault() ?? throw new ArgumentException("report needs --out <file.md>");
                File.WriteAllText(output, page);
                Console.WriteLine($"wrote {output} ({ours.Cases.Count} cases of ours, {peers.Cases.Count} of peers)");
                return 0;
            }
            double floor = Get("--floor").Count == 1 ? double.Parse(Get("--floor")[0], CultureInfo.InvariantCulture) : 0.05;
            int regressions = RegressionCheck.Run(ResultSet.Load(Get("--old")), ResultSet.Load(Get("--new")), floor, Console.Out);
            return regressions == 0 ? 0 : 1;
        }
        catch (Exception e) when (e is ArgumentException or IOException or FormatException or System.Text.Json.JsonException or InvalidDataException)
        {
            Console.Error.WriteLine($"{args[0]}: {e.Message}");
            return 2;
        }
    }

    // "--name value value --other value" → name → values.
    private static Dictionary<string, List<string>> Parse(IEnumerable<string> args)
    {
        var result = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        List<string>? current = null;
        foreach (string a in args)
        {
            if (a.StartsWith("--", StringComparison.Ordinal))
            {
                if (!result.TryGetValue(a, out current))
                    result[a] = current = [];
            }
            else if (current is null)
            {
                throw new ArgumentException($"Unexpected argument '{a}'.");
            }
            else
            {
                current.Add(a);
            }
        }
        return result;
    }
}
