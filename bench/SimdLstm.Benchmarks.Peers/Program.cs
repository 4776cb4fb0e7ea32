using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.RegularExpressions;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Running;
using SimdLstm;
using SimdLstm.Benchmarks;
using SimdLstm.Benchmarks.Peers;

// Every peer is checked against SimdLstm (same weights, same inputs), for every cell it runs and every size, before
// anything is timed. A peer whose native library does not load (or that cannot run a cell) is reported on one line and
// left out; the rest run. A peer that loads but disagrees (or a check that SimdLstm itself fails with an argument error)
// stops the run: nothing is timed and the exit code is 3.
// "--check-only" stops after the checks (exit code 0 when every peer agreed, 1 when one was unavailable, 3 on a
// disagreement). With BenchmarkDotNet's "--filter", only the peers whose benchmark classes the filter selects are checked
// (and timed), so a run of the sequence-shape classes does not repeat the cell classes' checks.
// "--state-dict-check" runs only the exchange of PyTorch state_dicts with libtorch's own modules (StateDictCheck).
if (Array.IndexOf(args, "--state-dict-check") >= 0)
    return StateDictCheck.Run();
bool checkOnly = Array.IndexOf(args, "--check-only") >= 0;
string[] rest = Array.FindAll(args, a => a != "--check-only");
List<Regex> filters = Filters(rest);

(string Name, CellKind Cell, Func<int, CellKind, Agreement> Check, Type Bench)[] peers =
[
    ("onnxruntime", CellKind.Lstm, PeerCheck.OnnxRuntime, typeof(OnnxRuntimeBench)),
    ("onnxruntime", CellKind.Gru, PeerCheck.OnnxRuntime, typeof(OnnxRuntimeGruBench)),
    ("libtorch", CellKind.Lstm, PeerCheck.Torch, typeof(TorchBench)),
    ("libtorch", CellKind.Gru, PeerCheck.Torch, typeof(TorchGruBench)),
    ("onnxruntime bidirectional", CellKind.Lstm, PeerCheck.OnnxRuntimeBidirectional, typeof(OnnxRuntimeBidirectionalBench)),
    ("onnxruntime bidirectional", CellKind.Gru, PeerCheck.OnnxRuntimeBidirectional, typeof(OnnxRuntimeGruBidirectionalBench)),
    ("libtorch bidirectional", CellKind.Lstm, PeerCheck.TorchBidirectional, typeof(TorchBidirectionalBench)),
    ("libtorch bidirectional", CellKind.Gru, PeerCheck.TorchBidirectional, typeof(TorchGruBidirectionalBench)),
    ("onnxruntime DynamicQuantizeLSTM", CellKind.Lstm, QuantizedCheck.OnnxRuntimeDynamicQuantize, typeof(DynamicQuantizeLstmBench)),
];
peers = Array.FindAll(peers, p => Selected(p.Bench, filters));
var types = new List<Type>();
int disagreements = 0;
foreach (var peer in peers)
{
    switch (Check(peer.Name, peer.Cell, peer.Check))
    {
        case Verdict.Agrees:
            types.Add(peer.Bench);
            break;
        case Verdict.Disagrees:
            disagreements++;
            break;
    }
}
if (disagreements > 0)
{
    Console.WriteLine($"peer check FAILED: {disagreements} peer/cell pair(s) disagree with SimdLstm (above); nothing is timed");
    return 3;
}
if (checkOnly)
    return types.Count == peers.Length ? 0 : 1;
if (types.Count == 0)
{
    Console.WriteLine("no peer available: nothing to time");
    return 0;
}

IConfig config = DefaultConfig.Instance
    .AddDiagnoser(MemoryDiagnoser.Default)
    .AddExporter(JsonExporter.Full);
BenchmarkSwitcher.FromTypes([.. types]).Run(rest, config);
return 0;

static Verdict Check(string name, CellKind cell, Func<int, CellKind, Agreement> check)
{
    double worstOutput = 0, worstGradient = 0;
    string outputAt = "-", gradientAt = "-", tolerance = "-";
    bool gradients = false;
    var details = new List<string>();
    foreach (int size in BenchCases.Sizes())
    {
        Agreement agreement;
        try
        {
            agreement = check(size, cell);
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or EntryPointNotFoundException
                                      or BadImageFormatException or InvalidOperationException or NotSupportedException
                                      or Microsoft.ML.OnnxRuntime.OnnxRuntimeException or System.Runtime.InteropServices.ExternalException)
        {
            Console.WriteLine($"peer unavailable: {name} {cell}: {FirstLine(e)}");
            return Verdict.Unavailable;
        }
        catch (Exception e) when (e is ArgumentException or IndexOutOfRangeException or ArithmeticException)
        {
            // Not a peer that fails to load: a path of ours (or the mapping of its weights) refused the case.
            Console.WriteLine($"peer check FAILED: {name} {cell} at I = H = {size}: the check threw {FirstLine(e)}");
            return Verdict.Disagrees;
        }
        if (agreement.Problem is string problem)
        {
            Console.WriteLine($"peer check FAILED: {name} {cell} disagrees with SimdLstm: {problem}");
            return Verdict.Disagrees;
        }
        tolerance = agreement.Tolerance;
        foreach (string line in agreement.Details)
            details.Add($"I = H = {size}: {line}");
        if (!(agreement.WorstOutput <= worstOutput) || outputAt == "-")
            (worstOutput, outputAt) = (agreement.WorstOutput, agreement.WorstOutputAt);
        if (agreement.HasGradients && (!(agreement.WorstGradient <= worstGradient) || !gradients))
            (worstGradient, gradientAt, gradients) = (agreement.WorstGradient, agreement.WorstGradientAt, true);
    }
    var inv = CultureInfo.InvariantCulture;
    Console.WriteLine(string.Create(inv, $"peer ok: {name} {cell}: agrees with SimdLstm at every size ({tolerance})"));
    Console.WriteLine(string.Create(inv, $"  largest output difference {worstOutput:G3}: {outputAt}"));
    foreach (string line in details)
        Console.WriteLine("  " + line);
    if (gradients)
        Console.WriteLine(string.Create(inv, $"  largest gradient difference {worstGradient:G3} of the largest magnitude: {gradientAt}"));
    return Verdict.Agrees;
}

// The --filter patterns of BenchmarkDotNet's command line as regular expressions ('*' any text, '?' one character, as
// its glob filter); empty without --filter.
static List<Regex> Filters(string[] args)
{
    var result = new List<Regex>();
    for (int i = 0; i < args.Length; i++)
    {
        if (!string.Equals(args[i], "--filter", StringComparison.OrdinalIgnoreCase) && args[i] != "-f")
            continue;
        for (int j = i + 1; j < args.Length && !args[j].StartsWith('-'); j++)
            result.Add(new Regex("^" + Regex.Escape(args[j]).Replace(@"\*", ".*", StringComparison.Ordinal).Replace(@"\?", ".", StringComparison.Ordinal) + "$",
                RegexOptions.IgnoreCase | RegexOptions.CultureInvariant));
    }
    return result;
}

// Whether a filter selects any benchmark method of the class (every class when there is no filter).
static bool Selected(Type bench, List<Regex> filters) =>
    filters.Count == 0 || bench.GetMethods().Any(m => m.GetCustomAttributes(typeof(BenchmarkDotNet.Attributes.BenchmarkAttribute), true).Length > 0
        && filters.Any(f => f.IsMatch($"{bench.FullName}.{m.Name}")));

static string FirstLine(Exception e)
{
    while (e.InnerException is not null && e is TypeInitializationException)
        e = e.InnerException;
    string message = e.GetType().Name + ": " + e.Message;
    int newline = message.IndexOf('\n', StringComparison.Ordinal);
    return newline < 0 ? message : message[..newline];
}

internal enum Verdict
{
    Agrees,
    Unavailable,
    Disagrees,
}
