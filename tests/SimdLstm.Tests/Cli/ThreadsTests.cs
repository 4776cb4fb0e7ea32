using System;
using System.CommandLine;
using System.IO;
using System.Linq;
using System.Text;
using FsCheck.Xunit;
using SimdLstm.Cli;
using SimdLstm.Text;
using SimdLstm.Training;
using Xunit;

namespace SimdLstm.Tests.Cli;

/// <summary>
/// <c>train --threads N</c>: the option's parsing, range and default; the threads it reports; and that the thread count
/// changes nothing a run writes (checkpoint, training state, loss curves), down to the last bit.
/// </summary>
public sealed class ThreadsTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("simdlstm-threads-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>The command line as <see cref="Program.Run"/> parses it, without running anything.</summary>
    private static ParseResult Parse(params string[] args)
    {
        var context = new CliContext(TextWriter.Null, TextWriter.Null, Interactive: false);
        var root = new RootCommand { TrainCommand.Create(context) };
        return root.Parse(["train", .. args], new ParserConfiguration { ResponseFileTokenReplacer = null });
    }

    [Property(MaxTest = 200)]
    public void Threads_AnyPositiveCountParses_AnyOtherIsRefusedNamingTheOption(int count)
    {
        ParseResult parsed = Parse("--threads", count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (count >= 1)
        {
            Assert.Empty(parsed.Errors);
            Assert.Equal(count, parsed.GetValue<int>("--threads"));
        }
        else
        {
            Assert.Equal($"--threads must be at least 1 but is {count}.", Assert.Single(parsed.Errors).Message);
        }
    }

    [Fact]
    public void Threads_DefaultsToEveryCore()
    {
        ParseResult parsed = Parse();
        Assert.Empty(parsed.Errors);
        Assert.Equal(Environment.ProcessorCount, parsed.GetValue<int>("--threads"));
    }

    [Theory]
    [InlineData("0", "--threads must be at least 1 but is 0.")]
    [InlineData("-2", "--threads must be at least 1 but is -2.")]
    [InlineData("two", "--threads must be an integer but is 'two'.")]
    [InlineData("1.5", "--threads must be an integer but is '1.5'.")]
    [InlineData("2,0", "--threads must be an integer but is '2,0'.")]
    [InlineData("99999999999", "--threads must be an integer but is '99999999999'.")]
    public void Threads_BadValue_IsAUsageErrorOnOneLine(string value, string message)
    {
        (int code, string output, string error) = Run(["train", "--threads", value]);
        Assert.Equal(Program.UsageExitCode, code);
        Assert.Equal("", output); // refused before anything ran
        Assert.Equal($"error: {message} (see --help)", error.TrimEnd());
    }

    [Fact]
    public void Threads_WithoutAValue_IsAUsageError()
    {
        (int code, _, string error) = Run(["train", "--threads"]);
        Assert.Equal(Program.UsageExitCode, code);
        Assert.StartsWith("error: ", error, StringComparison.Ordinal);
        Assert.Contains("--threads", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Help_DescribesThreads()
    {
        (int code, string output, _) = Run(["train", "--help"]);
        Assert.Equal(0, code);
        Assert.Contains("--threads", output, StringComparison.Ordinal);
        Assert.Contains("1 for a single-threaded run", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Train_WithoutThreads_RunsOnEveryCoreAndSaysSo()
    {
        // 50 steps: a plain progress line is written every 50.
        (int code, string output, string error) = Run(Tiny(Corpus(), Path.Combine(_directory, "default.safetensors"), "--steps", "50"));
        Assert.Equal("", error);
        Assert.Equal(0, code);
        string threads = Environment.ProcessorCount == 1 ? "1 thread" : $"{Environment.ProcessorCount} threads";
        Assert.Contains($", {threads}{Environment.NewLine}", output, StringComparison.Ordinal);          // the run's header
        Assert.Contains($" tok/s on {threads}  left ", output, StringComparison.Ordinal);                // each progress line
        Assert.Matches($@"done: 50 steps in [0-9.]+ s, [0-9,]+ tokens/s on {threads}; ", output);       // the summary
    }

    [Fact]
    public void BarText_ShowsThroughputAndThreads()
    {
        var p = new TrainingProgress(5, 100, 2.5f, float.NaN, 40_800, TimeSpan.Zero, TimeSpan.Zero, 0, false);
        Assert.EndsWith(" 40.8k tok/s 2 thr", TrainCommand.BarText(p, threads: 2), StringComparison.Ordinal);
        Assert.Contains(" 40,800 tok/s on 1 thread ", TrainCommand.Describe(p, threads: 1), StringComparison.Ordinal);
        Assert.Contains(" 40,800 tok/s on 3 threads ", TrainCommand.Describe(p, threads: 3), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("lstm", "2")]
    [InlineData("lstm", "3")] // more threads than streams divide evenly (4 streams, 3 shares) and than this machine's cores
    [InlineData("gru", "2")]
    public void Train_OnNThreads_WritesBitwiseWhatOneThreadWrites(string cell, string threads)
    {
        string corpus = Corpus();
        string one = Path.Combine(_directory, "one.safetensors"), many = Path.Combine(_directory, "many.safetensors");
        (int code, string output, string error) = Run(Tiny(corpus, one, "--cell", cell, "--layers", "2", "--threads", "1"));
        Assert.Equal("", error);
        Assert.Equal(0, code);
        Assert.Contains(" tokens/s on 1 thread;", output, StringComparison.Ordinal);
        (code, output, error) = Run(Tiny(corpus, many, "--cell", cell, "--layers", "2", "--threads", threads));
        Assert.Equal("", error);
        Assert.Equal(0, code);
        Assert.Contains($" tokens/s on {threads} threads;", output, StringComparison.Ordinal);

        // The files, byte for byte: the weights, Adam's buffers, the carried state, the loss curves in the state and the CSV.
        Assert.Equal(File.ReadAllBytes(one), File.ReadAllBytes(many));
        Assert.Equal(File.ReadAllBytes(TrainingState.PathFor(one)), File.ReadAllBytes(TrainingState.PathFor(many)));
        Assert.Equal(File.ReadAllText(Path.ChangeExtension(one, ".loss.csv")), File.ReadAllText(Path.ChangeExtension(many, ".loss.csv")));
        // The run trained (so equal files are not two untouched initialisations).
        SequenceModel trained = ModelCheckpoint.Load(one).Model;
        Assert.NotEqual(new SequenceModel(trained.Options, trained.OutputSize, seed: 1).Parameters.Span.ToArray(), trained.Parameters.Span.ToArray());
    }

    [Fact]
    public void Trainer_OnAPool_TakesBitwiseTheStepsOfOneThread_AndRefusesADisposedPool()
    {
        int[] tokens = Enumerable.Range(0, 700).Select(i => (i * 5 + i / 11) % 7).ToArray();
        var options = new SequenceTrainerOptions { SequenceLength = 9, BatchSize = 5, EvaluateEvery = 4 };
        SequenceTrainer Create(SequenceModel model, ComputePool? pool) =>
            new(model, new Adam(model.Parameters.Length, 1e-2f), tokens.AsMemory(0, 600), tokens.AsMemory(600), options, pool);

        var alone = new SequenceModel(RecurrentOptions.Lstm(7, 13, numLayers: 2), 7, seed: 4);
        SequenceTrainer aloneTrainer = Create(alone, null);
        Assert.Null(aloneTrainer.Pool);
        TrainingSummary aloneRun = aloneTrainer.Train(12, cancellationToken: TestContext.Current.CancellationToken);

        var shared = new SequenceModel(RecurrentOptions.Lstm(7, 13, numLayers: 2), 7, seed: 4);
        using var pool = new ComputePool(2);
        SequenceTrainer sharedTrainer = Create(shared, pool);
        Assert.Same(pool, sharedTrainer.Pool);
        TrainingSummary sharedRun = sharedTrainer.Train(12, cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(aloneRun.TrainingCurve, sharedRun.TrainingCurve);
        Assert.Equal(aloneRun.ValidationCurve, sharedRun.ValidationCurve);
        Assert.Equal(alone.Parameters.Span.ToArray(), shared.Parameters.Span.ToArray());
        Assert.Equal(aloneTrainer.CarriedState.Hidden.ToArray(), sharedTrainer.CarriedState.Hidden.ToArray());
        Assert.Equal(aloneTrainer.CarriedState.Cell.ToArray(), sharedTrainer.CarriedState.Cell.ToArray());

        // A step on a disposed pool is refused before the run moves: the data position and the counts stay.
        pool.Dispose();
        int chunk = sharedTrainer.NextChunk, done = sharedTrainer.StepsDone;
        Assert.Throws<ObjectDisposedException>(() => sharedTrainer.Step());
        Assert.Throws<ObjectDisposedException>(() => sharedTrainer.Evaluate());
        Assert.Equal(chunk, sharedTrainer.NextChunk);
        Assert.Equal(done, sharedTrainer.StepsDone);
        Assert.Throws<ObjectDisposedException>(() => Create(new SequenceModel(RecurrentOptions.Lstm(7, 4), 7, seed: 1), pool));
    }

    /// <summary>A small corpus of a few repeated lines.</summary>
    private string Corpus()
    {
        var text = new StringBuilder();
        for (int i = 0; i < 60; i++)
            text.Append(i % 3 == 0 ? "In the beginning " : i % 3 == 1 ? "was the word, " : "and the word was\n");
        string path = Path.Combine(_directory, "corpus.txt");
        File.WriteAllText(path, text.ToString(), new UTF8Encoding(false));
        return path;
    }

    private static string[] Tiny(string corpus, string checkpoint, params string[] more) =>
        ["train", "--corpus", corpus, "--hidden", "8", "--seq-len", "8", "--batch", "4", "--eval-every", "10", "--sample-length", "20",
         "--checkpoint", checkpoint, .. more.Contains("--steps") ? more : [.. more, "--steps", "20"]];

    private static (int Code, string Output, string Error) Run(string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int code = Program.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
