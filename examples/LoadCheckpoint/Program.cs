// Loading a checkpoint written by `SimdLstm.Cli train` (or by ModelCheckpoint.Save) and generating text from it.
// Usage: dotnet run --project examples/LoadCheckpoint -- [CHECKPOINT [PRIME]]
// Without a path it first trains a tiny character model on a few lines, so the example runs anywhere.
using System;
using System.IO;
using SimdLstm;
using SimdLstm.Serialization;
using SimdLstm.Text;
using SimdLstm.Training;

string path = args.Length > 0 ? args[0] : TrainTiny();
string prime = args.Length > 1 ? args[1] : "The ";
LoadedModel loaded;
try
{
    loaded = ModelCheckpoint.Load(path);                 // checks names, shapes and finiteness; errors name the file
}
catch (Exception e) when (e is IOException or SafeTensorsFormatException)
{
    Console.Error.WriteLine($"error: {e.Message}");
    return 1;
}
if (loaded.Vocabulary is null)
{
    Console.Error.WriteLine($"error: '{path}' has no vocabulary, so it is not a character model.");
    return 1;
}
RecurrentOptions o = loaded.Model.Options;
Console.WriteLine($"{path}: {o.Cell} H={o.HiddenSize} layers={o.NumLayers}, vocabulary of {loaded.Vocabulary.Count} characters");
foreach ((string key, string value) in loaded.HyperParameters)
    Console.WriteLine($"  {key} = {value}");

var sampler = new TextSampler(loaded.Model, loaded.Vocabulary);
if (loaded.Vocabulary.IndexOfUnknown(prime) >= 0)
    prime = "";
SampleResult sample = sampler.Generate(length: 200, temperature: 0.8f, seed: 1, prime: prime);
Console.WriteLine($"--- {prime}… ({sample.MicrosecondsPerCharacter:F1} µs per character)");
Console.WriteLine(prime + sample.Text);
return 0;

static string TrainTiny()
{
    const string text = "The cat sat on the mat. The dog sat on the log. The cat saw the dog. The dog saw the cat.\n";
    string corpus = string.Concat(System.Linq.Enumerable.Repeat(text, 40));
    Vocabulary vocabulary = Vocabulary.FromText(corpus);
    int[] tokens = vocabulary.Encode(corpus);
    var model = new SequenceModel(RecurrentOptions.Lstm(vocabulary.Count, 48), vocabulary.Count, seed: 3);
    var trainer = new SequenceTrainer(model, new Adam(model.Parameters.Length, 1e-2f), tokens, ReadOnlyMemory<int>.Empty,
        new SequenceTrainerOptions { SequenceLength = 24, BatchSize = 8 });
    trainer.Train(150);
    string path = Path.Combine(Path.GetTempPath(), "simdlstm-example-tiny.safetensors");
    ModelCheckpoint.Save(path, model, vocabulary, new System.Collections.Generic.Dictionary<string, string> { ["note"] = "trained by examples/LoadCheckpoint" });
    return path;
}
