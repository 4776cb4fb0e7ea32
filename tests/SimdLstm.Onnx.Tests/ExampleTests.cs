using System;
using System.IO;
using Xunit;

namespace SimdLstm.Onnx.Tests;

/// <summary>Runs alone: its example names a file relative to the working directory, which it points at a fresh folder.</summary>
[CollectionDefinition(nameof(WorkingDirectoryCollection), DisableParallelization = true)]
public sealed class WorkingDirectoryCollection;

/// <summary>
/// The usage example of README.md's ONNX section (export, import and a pass with lengths), compiled and run; the core
/// test project's README test checks README.md holds exactly this code.
/// </summary>
[Collection(nameof(WorkingDirectoryCollection))]
public sealed class ExampleTests
{
    [Fact]
    public void The_example_runs()
    {
        string folder = Directory.CreateTempSubdirectory("simdlstm-onnx-example-").FullName;
        string previous = Environment.CurrentDirectory;
        try
        {
            Environment.CurrentDirectory = folder;
            // --- README.md: onnx ---
            // SimdLstm → ONNX: inputs `input` [seq, batch, I] and `sequence_lens`; outputs `logits`, `h_n`.
            var model = new SequenceModel(RecurrentOptions.Gru(inputSize: 8, hiddenSize: 32, numLayers: 2, bidirectional: true), outputSize: 5, seed: 1);
            OnnxExport.Save(model, "gru.onnx", new OnnxExportOptions { SequenceLengths = true });

            // ONNX → SimdLstm (a file from torch.onnx.export works the same way)
            OnnxImportedModel imported = OnnxImport.Load("gru.onnx");
            RecurrentLayer layer = imported.Recurrent;
            int steps = 10, batch = 2;
            float[] x = new float[steps * batch * 8];            // [seq, batch, I]; [batch, seq, I] when imported.BatchFirst
            int[] lengths = [10, 7];                              // what the model's sequence_lens input would hold
            RecurrentState state = layer.CreateState(batch);      // zero, or set from the model's initial-state inputs
            RecurrentWorkspace workspace = layer.CreateWorkspace(steps, batch);
            float[] hidden = new float[steps * batch * layer.Options.OutputSize];
            layer.Forward(SequenceInput.Dense(x, steps, imported.BatchFirst, lengths), state, workspace, hidden);
            float[] logits = new float[steps * batch * imported.Model!.OutputSize];
            imported.Model.Head.Forward(hidden, steps * batch, logits);
            // --- end ---

            Assert.Equal(model.Parameters.Span.ToArray(), imported.Model.Parameters.Span.ToArray());
            Assert.Equal("sequence_lens", imported.SequenceLengthsInput);
        }
        finally
        {
            Environment.CurrentDirectory = previous;
            Directory.Delete(folder, recursive: true);
        }
    }
}
