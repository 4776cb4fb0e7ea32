using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Xunit;

namespace SimdLstm.Onnx.Tests;

/// <summary>SimdLstm → ONNX → ONNX Runtime gives SimdLstm's outputs and final states.</summary>
public sealed class ExportTests
{
    private static readonly (CellKind Cell, RnnActivation Activation)[] Cells =
        [(CellKind.Lstm, RnnActivation.Tanh), (CellKind.Gru, RnnActivation.Tanh), (CellKind.Rnn, RnnActivation.Tanh), (CellKind.Rnn, RnnActivation.Relu)];

    internal sealed record Case(CellKind Cell, RnnActivation Activation, bool Bidirectional, bool Bias, int Layers, bool Lengths, bool BatchFirst, bool InitialState, bool Head,
        int Inputs, int Hidden, int Steps, int Batch, int Seed)
    {
        public string Name => $"{Cell}{(Cell == CellKind.Rnn ? "-" + Activation : "")} {(Bidirectional ? "bidirectional" : "forward")} {(Bias ? "bias" : "no bias")} L={Layers}{(Lengths ? " lengths" : "")}";
    }

    // Runs one case both ways; returns the largest difference and its allowance.
    internal static (double Difference, double Tolerance) Check(Case c)
    {
        var random = new Random(c.Seed);
        var options = new RecurrentOptions(c.Cell, c.Inputs, c.Hidden, c.Layers, c.Bias, c.Activation, c.Bidirectional);
        RecurrentLayer layer;
        Linear? head = null;
        byte[] onnx;
        var exportOptions = new OnnxExportOptions { SequenceLengths = c.Lengths, BatchFirst = c.BatchFirst, InitialState = c.InitialState };
        if (c.Head)
        {
            var model = new SequenceModel(options, 1 + random.Next(5), c.Seed);
            layer = model.Recurrent;
            head = model.Head;
            onnx = OnnxExport.ToBytes(model, exportOptions);
        }
        else
        {
            layer = new RecurrentLayer(options, c.Seed);
            onnx = OnnxExport.ToBytes(layer, exportOptions);
        }
        PassInput input = Harness.RandomInput(random, c.Inputs, c.Steps, c.Batch, c.BatchFirst, c.Lengths, c.InitialState ? options : null);
        PassOutput ours = Harness.RunSimdLstm(layer, head, input);
        Dictionary<string, float[]> theirs = Harness.RunOnnxRuntime(onnx, input, stateRows: options.StateLayers, hidden: c.Hidden);
        double difference = Math.Max(Harness.MaxDifference(ours.Output, theirs[c.Head ? "logits" : "output"]), Harness.MaxDifference(ours.Hidden, theirs["h_n"]));
        if (options.HasCellState)
            difference = Math.Max(difference, Harness.MaxDifference(ours.Cell, theirs["c_n"]));
        return (difference, Harness.Tolerance(layer, head, input));
    }

    /// <summary>Every cell × direction × bias × layers × lengths, with random sizes, layouts, initial states and heads; the table of largest differences is written next to the tests.</summary>
    [Fact]
    public void Every_configuration_runs_in_OnnxRuntime_with_SimdLstms_outputs()
    {
        var random = new Random(20240601);
        var worst = new Dictionary<string, (double Difference, double Tolerance)>();
        int seed = 0;
        foreach ((CellKind cell, RnnActivation activation) in Cells)
        {
            foreach (bool bidirectional in new[] { false, true })
            {
                foreach (bool bias in new[] { false, true })
                {
                    foreach (int layers in new[] { 1, 2 })
                    {
                        foreach (bool lengths in new[] { false, true })
                        {
                            for (int repeat = 0; repeat < 3; repeat++)
                            {
                                var c = new Case(cell, activation, bidirectional, bias, layers, lengths, random.Next(2) == 0, random.Next(2) == 0, random.Next(2) == 0,
                                    1 + random.Next(9), 1 + random.Next(12), 1 + random.Next(8), 1 + random.Next(4), ++seed);
                                (double difference, double tolerance) = Check(c);
                                Assert.True(difference <= tolerance, $"{c}: difference {difference:E3} > allowance {tolerance:E3}");
                                if (!worst.TryGetValue(c.Name, out var w) || difference > w.Difference)
                                    worst[c.Name] = (difference, tolerance);
                            }
                        }
                    }
                }
            }
        }
        var table = new StringBuilder("| configuration | largest difference | allowance |\n|---|---:|---:|\n");
        foreach ((string name, (double d, double t)) in worst.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            table.Append(System.FormattableString.Invariant($"| {name} | {d:E2} | {t:E2} |\n"));
        File.WriteAllText(Path.Combine(AppContext.BaseDirectory, "onnxruntime-differences.md"), table.ToString());
    }

    /// <summary>Random configurations drawn by FsCheck agree within the allowance.</summary>
    [FsCheck.Xunit.Property(MaxTest = 30)]
    public Property Random_configurations_agree_with_OnnxRuntime() =>
        Prop.ForAll(Arb.From(Gen.Choose(1, int.MaxValue)), seed =>
        {
            var random = new Random(seed);
            (CellKind cell, RnnActivation activation) = Cells[random.Next(Cells.Length)];
            var c = new Case(cell, activation, random.Next(2) == 0, random.Next(2) == 0, 1 + random.Next(2), random.Next(2) == 0, random.Next(2) == 0, random.Next(2) == 0,
                random.Next(2) == 0, 1 + random.Next(16), 1 + random.Next(16), 1 + random.Next(10), 1 + random.Next(5), seed);
            (double difference, double tolerance) = Check(c);
            return (difference <= tolerance).Label($"{c}: difference {difference:E3} > allowance {tolerance:E3}");
        });

    [Fact]
    public void A_projected_layer_is_not_written()
    {
        var layer = new RecurrentLayer(RecurrentOptions.Lstm(3, 5, projSize: 2), 1);
        NotSupportedException e = Assert.Throws<NotSupportedException>(() => OnnxExport.ToBytes(layer));
        Assert.Contains("proj_size", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_exported_model_imports_back_to_the_same_weights()
    {
        foreach ((CellKind cell, RnnActivation activation) in Cells)
        {
            var options = new RecurrentOptions(cell, 4, 6, 2, true, activation, bidirectional: true);
            var model = new SequenceModel(options, 3, 7);
            OnnxImportedModel imported = OnnxImport.Load(OnnxExport.ToBytes(model, new OnnxExportOptions { SequenceLengths = true, InitialState = true }));
            Assert.NotNull(imported.Model);
            Assert.Equal(options, imported.Options);
            Assert.Equal(model.Parameters.Span.ToArray(), imported.Model!.Parameters.Span.ToArray());
            Assert.Equal("sequence_lens", imported.SequenceLengthsInput);
            Assert.Equal(options.HasCellState ? ["h0", "c0"] : new[] { "h0" }, imported.InitialStateInputs);
            Assert.Equal("logits", imported.OutputName);
        }
    }
}
