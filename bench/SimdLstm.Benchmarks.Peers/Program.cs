using System;
using System.Collections.Generic;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Exporters.Json;
using BenchmarkDotNet.Running;
using SimdLstm.Benchmarks;
using SimdLstm.Benchmarks.Peers;

// Peers are checked against SimdLstm (same weights, same inputs) for every size before anything is timed. A peer whose
// native library does not load, or whose outputs disagree, is reported on one line and left out; the rest run.
// "--check-only" stops after the checks.
bool checkOnly = Array.IndexOf(args, "--check-only") >= 0;
string[] rest = Array.FindAll(args, a => a != "--check-only");

var types = new List<Type>();
if (Check("onnxruntime", PeerCheck.OnnxRuntime))
    types.Add(typeof(OnnxRuntimeBench));
if (Check("libtorch", PeerCheck.Torch))
    types.Add(typeof(TorchBench));
if (checkOnly)
    return types.Count == 2 ? 0 : 1;
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

static bool Check(string name, Func<int, string?> check)
{
    foreach (int size in BenchCases.Sizes())
    {
        string? problem;
        try
        {
            problem = check(size);
        }
        catch (Exception e) when (e is DllNotFoundException or TypeInitializationException or EntryPointNotFoundException
                                      or BadImageFormatException or InvalidOperationException or NotSupportedException
                                      or Microsoft.ML.OnnxRuntime.OnnxRuntimeException or System.Runtime.InteropServices.ExternalException)
        {
            Console.WriteLine($"peer unavailable: {name}: {FirstLine(e)}");
            return false;
        }
        if (problem is not null)
        {
            Console.WriteLine($"peer unavailable: {name}: disagrees with SimdLstm at I = H = {size}, not timed: {problem}");
            return false;
        }
    }
    Console.WriteLine($"peer ok: {name}: agrees with SimdLstm at every size (outputs within {PeerCheck.OutputTolerance:G} abs, gradients within {PeerCheck.GradientTolerance:G} of their largest magnitude)");
    return true;
}

static string FirstLine(Exception e)
{
    while (e.InnerException is not null && e is TypeInitializationException)
        e = e.InnerException;
    string message = e.GetType().Name + ": " + e.Message;
    int newline = message.IndexOf('\n', StringComparison.Ordinal);
    return newline < 0 ? message : message[..newline];
}
