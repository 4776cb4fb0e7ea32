using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;

namespace SimdLstm.Benchmarks;

/// <summary>
/// A second opinion on the sequence-shape ratios, outside BenchmarkDotNet: each pass of <see cref="SequenceShapeBench"/>
/// repeated in one process (at least 5 times, up to 3 s or 200 passes) and its <b>fastest</b> pass kept. On a shared
/// machine the minimum is far less disturbed by another job than a short job's mean, so the ratios of minima say more
/// about the code than the ratios of noisy means; the absolute times are best cases, not typical ones.
/// Run as <c>SimdLstm.Benchmarks.dll shapes-probe [sizes]</c>, ideally with <c>DOTNET_TieredCompilation=0</c> (every
/// method fully optimised from its first call).
/// </summary>
public static class ShapeProbe
{
    /// <summary>Prints one line per cell and size: per-token times (µs) and the ratios.</summary>
    public static void Run(ReadOnlySpan<int> sizes, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(output);
        SequenceShapes.Validate();
        var inv = CultureInfo.InvariantCulture;
        output.WriteLine("fastest pass of each case, µs per token (half/full: per padded slot, T·B); bi ÷ (2 × uni), half ÷ full");
        foreach (int size in sizes)
        {
            foreach (CellKind cell in new[] { CellKind.Lstm, CellKind.Gru })
            {
                Fastest(cell, size, false, 1, [], layerPath: false); // JIT warm-up, not reported
                double bi1 = Per("Bidirectional", Fastest(cell, size, true, 1, [], false));
                double uni1 = Per("Unidirectional", Fastest(cell, size, false, 1, [], false));
                double bi16 = Per("BidirectionalBatch", Fastest(cell, size, true, SequenceShapes.Batch, SequenceShapes.BatchLengths, false));
                double uni16 = Per("UnidirectionalBatch", Fastest(cell, size, false, SequenceShapes.Batch, SequenceShapes.BatchLengths, false));
                double layer16 = Per("LayerBidirectionalBatch", Fastest(cell, size, true, SequenceShapes.Batch, SequenceShapes.BatchLengths, true));
                double half = Per("HalfLengths", Fastest(cell, size, false, SequenceShapes.Batch, SequenceShapes.HalfLengths, false));
                double full = Per("FullLengths", Fastest(cell, size, false, SequenceShapes.Batch, [], false));
                output.WriteLine(string.Create(inv,
                    $"{cell,-4} H = {size,4} | B = 1: bi {bi1,8:F2} uni {uni1,8:F2} ratio {bi1 / (2 * uni1):F2} | B = 16: bi {bi16,8:F2} uni {uni16,8:F2} ratio {bi16 / (2 * uni16):F2}, RecurrentLayer bi {layer16,8:F2} | half {half,7:F2} full {full,7:F2} ratio {half / full:F2}"));
            }
        }
    }

    // µs per reported operation of a method, from the fastest pass in µs.
    private static double Per(string method, double passMicroseconds) => passMicroseconds / SequenceShapes.Of(method)!.Operations;

    private static double Fastest(CellKind cell, int size, bool bidirectional, int batch, ReadOnlySpan<int> lengths, bool layerPath)
    {
        var layer = new RecurrentLayer(SequenceShapes.Options(cell, size, bidirectional), seed: 1);
        PackedRecurrentLayer packed = layer.Pack();
        RecurrentState state = layer.CreateState(batch);
        RecurrentWorkspace workspace = layer.CreateWorkspace(SequenceShapes.Steps, batch);
        InferenceWorkspace packedWorkspace = packed.CreateWorkspace(SequenceShapes.Steps, batch);
        var random = new Random(2);
        var input = new float[SequenceShapes.Steps * batch * size];
        for (int i = 0; i < input.Length; i++)
            input[i] = (float)(random.NextDouble() * 2 - 1);
        var output = new float[SequenceShapes.Steps * batch * layer.Options.OutputSize];
        double best = double.MaxValue;
        var total = Stopwatch.StartNew();
        for (int pass = 0; pass < 5 || (pass < 200 && total.Elapsed.TotalSeconds < 3); pass++)
        {
            long start = Stopwatch.GetTimestamp();
            state.Reset();
            var sequence = SequenceInput.Dense(input, SequenceShapes.Steps, lengths: lengths);
            if (layerPath)
                layer.Forward(sequence, state, workspace, output, training: false);
            else
                packed.Forward(sequence, state, packedWorkspace, output);
            best = Math.Min(best, Stopwatch.GetElapsedTime(start).TotalMicroseconds);
        }
        return best;
    }
}
