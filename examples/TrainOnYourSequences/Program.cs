// Training a model on your own token sequences with SequenceTrainer: truncated BPTT over B parallel streams, Adam,
// clipping and a held-out validation loss; then a checkpoint is saved and loaded back.
using System;
using System.IO;
using SimdLstm;
using SimdLstm.Text;
using SimdLstm.Training;

// Your data: any sequence of integer tokens in [0, V). Here a noisy counter modulo 5 with a rare "reset" token 5: the
// model must learn to count and when a reset is likely.
const int vocabulary = 6;
var random = new Random(7);
int[] tokens = new int[20_000];
for (int i = 1; i < tokens.Length; i++)
    tokens[i] = random.NextDouble() < 0.02 ? 5 : (tokens[i - 1] + 1) % 5;
int split = tokens.Length * 9 / 10;

var model = new SequenceModel(RecurrentOptions.Gru(inputSize: vocabulary, hiddenSize: 32), outputSize: vocabulary, seed: 1);
var optimizer = new Adam(model.Parameters.Length, learningRate: 1e-2f);
var trainer = new SequenceTrainer(model, optimizer, tokens.AsMemory(0, split), tokens.AsMemory(split), new SequenceTrainerOptions
{
    SequenceLength = 32,
    BatchSize = 16,
    EvaluateEvery = 50,
});
TrainingSummary summary = trainer.Train(200, new PrintEvaluations());
float first = summary.ValidationCurve[0].Loss, last = summary.ValidationCurve[^1].Loss;
Console.WriteLine($"{summary.Steps} steps, {summary.TokensPerSecond:N0} tokens/s; validation loss {first:F3} -> {last:F3} (ln 6 = {Math.Log(6):F3})");

string path = Path.Combine(Path.GetTempPath(), "simdlstm-example-counter.safetensors");
ModelCheckpoint.Save(path, model, hyperParameters: new System.Collections.Generic.Dictionary<string, string> { ["lr"] = "0.01" });
LoadedModel loaded = ModelCheckpoint.Load(path);
Console.WriteLine($"saved and loaded {path}: {loaded.Model.Options.Cell} H={loaded.Model.Options.HiddenSize}, {loaded.Model.Parameters.Length} parameters, lr {loaded.HyperParameters["lr"]}");
File.Delete(path);
return last < first ? 0 : 1;

/// <summary>Prints each validation loss as it is measured (on the training thread, unlike <see cref="Progress{T}"/>).</summary>
internal sealed class PrintEvaluations : IProgress<TrainingProgress>
{
    public void Report(TrainingProgress value)
    {
        if (value.IsEvaluation)
            Console.WriteLine($"step {value.Step}: validation loss {value.ValidationLoss:F3} nats/token");
    }
}
