using System;
using System.Globalization;
using System.IO;
using System.Linq;

namespace SimdLstm.Benchmarks;

/// <summary>
/// Compares a new run with a committed one, case by case, and flags a case as slower only when the difference exceeds
/// the noise of the two measurements: the sum of their 99.9 % confidence-interval half-widths (BenchmarkDotNet's Margin),
/// and at least <c>floor</c> × the old mean. The floor covers what a confidence interval from one process cannot see —
/// the process-to-process spread of a pinned run (a few percent here; PERF-NOTES.md saw 86–101 % of peak unpinned).
/// </summary>
public static class RegressionCheck
{
    /// <summary>Prints a table to <paramref name="output"/> and returns the number of regressions.</summary>
    public static int Run(ResultSet old, ResultSet current, double floor, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(old);
        ArgumentNullException.ThrowIfNull(current);
        ArgumentNullException.ThrowIfNull(output);
        var inv = CultureInfo.InvariantCulture;
        int regressions = 0, compared = 0;
        output.WriteLine(string.Create(inv, $"{"case",-62} {"old",10} {"new",10} {"change",8} {"noise",8}  verdict"));
        foreach (CaseResult now in current.Cases)
        {
            CaseResult? before = old.Cases.FirstOrDefault(c => c.Name == now.Name);
            if (before is null)
                continue;
            compared++;
            double change = (now.MeanNs - before.MeanNs) / before.MeanNs;
            double noise = Math.Max((before.MarginNs + now.MarginNs) / before.MeanNs, floor);
            string verdict = change > noise ? "SLOWER" : change < -noise ? "faster" : "same";
            // Limits (bandwidth, FMA peak) describe the machine, not the code: a change there says the run was disturbed.
            bool machine = now.Key.Type is nameof(BandwidthBench) or nameof(PackedReadBench) or nameof(FmaPeakBench);
            if (verdict == "SLOWER" && !machine)
                regressions++;
            if (machine && verdict == "SLOWER")
                verdict = "SLOWER (machine limit: the run may be disturbed)";
            output.WriteLine(string.Create(inv, $"{now.Name,-62} {ReportWriter.Time(before.MeanNs),10} {ReportWriter.Time(now.MeanNs),10} {change,8:P1} {noise,8:P1}  {verdict}"));
        }
        output.WriteLine(string.Create(inv, $"{compared} cases compared, {regressions} slower beyond noise."));
        if (compared == 0)
            output.WriteLine("No case of the new run is in the old one: nothing compared.");
        return regressions;
    }
}
