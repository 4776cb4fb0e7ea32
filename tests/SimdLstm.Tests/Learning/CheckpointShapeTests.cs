using System;
using System.IO;
using System.Linq;
using SimdLstm.Text;
using Xunit;

namespace SimdLstm.Tests.Learning;

/// <summary>
/// Checkpoints of the sequence shapes, through the whole model: a bidirectional, projected, dropout, embedding model
/// saves and loads with the same options and weights, and the loaded model computes the same loss bitwise.
/// </summary>
public class CheckpointShapeTests
{
    [Theory]
    [InlineData(CellKind.Lstm, true, 3, 0.25f, 0)]
    [InlineData(CellKind.Gru, true, 0, 0f, 17)]
    [InlineData(CellKind.Lstm, false, 4, 0.5f, 9)]
    [InlineData(CellKind.Rnn, true, 0, 0.1f, 0)]
    public void Save_ThenLoad_GivesTheSameModel(CellKind cell, bool bidirectional, int projection, float dropout, int embeddings)
    {
        var options = new RecurrentOptions(cell, 6, 7, numLayers: 2, bidirectional: bidirectional, projSize: projection, dropout: dropout);
        var model = new SequenceModel(options, outputSize: 5, seed: 4, vocabularySize: embeddings);
        string path = Path.Combine(Path.GetTempPath(), $"simdlstm-checkpoint-{Guid.NewGuid():N}.safetensors");
        try
        {
            ModelCheckpoint.Save(path, model);
            LoadedModel loaded = ModelCheckpoint.Load(path);
            Assert.Equal(options, loaded.Model.Options);
            Assert.Equal(embeddings, loaded.Model.VocabularySize);
            Assert.Equal(model.Parameters.Tensors.Select(t => t.Name), loaded.Model.Parameters.Tensors.Select(t => t.Name));
            Assert.Equal(model.Parameters.Span.ToArray(), loaded.Model.Parameters.Span.ToArray());

            const int steps = 4, batch = 3;
            int tokenRange = embeddings > 0 ? embeddings : options.InputSize;
            int[] tokens = Enumerable.Range(0, steps * batch).Select(i => i * 5 % tokenRange).ToArray(), targets = tokens.Select(t => t % 5).ToArray();
            int[] lengths = [4, 1, 3];
            float Loss(SequenceModel m) => m.Loss(SequenceInput.FromTokens(tokens, steps, lengths: lengths), targets, m.CreateState(batch), m.CreateWorkspace(steps, batch));
            Assert.Equal(Loss(model), Loss(loaded.Model));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
