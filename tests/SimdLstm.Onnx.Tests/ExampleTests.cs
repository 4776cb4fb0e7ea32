using System;
using System.IO;
using Xunit;

namespace SimdLstm.Onnx.Tests;

/// <summary>The usage example of the ONNX section: export, import and a pass with lengths.</summary>
public sealed class ExampleTests
{
    [Fact]
    public void The_example_runs()
    {
        string path = Path.Combine(Path.GetTempPath(), $"simdlstm-example-{Environment.ProcessId}.onnx");
        try
        {
            // SimdLstm → ONNX
            var model = new SequenceModel(RecurrentOptions.Gru(inputSize: 8, hiddenSize: 32, numLayers: 2, bidirectional: true), outputSize: 5, seed: 1);
            OnnxExport.Save(model, path, new OnnxExportOptions { SequenceLengths = true });

            // ONNX → SimdLstm
            OnnxImportedModel imported = OnnxImport.Load(path);
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

            Assert.Equal(model.Parameters.Span.ToArray(), imported.Model.Parameters.Span.ToArray());
            Assert.Equal("sequence_lens", imported.SequenceLengthsInput);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
