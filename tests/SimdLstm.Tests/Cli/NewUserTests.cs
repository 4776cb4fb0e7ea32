using System;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text;
using System.Threading;
using SimdLstm.Cli;
using SimdLstm.Serialization;
using SimdLstm.Text;
using Xunit;

namespace SimdLstm.Tests.Cli;

/// <summary>
/// What a new user hits first: Unicode and non-UTF-8 corpora, numbers in another locale's style, divergence, Ctrl-C and
/// resuming, response files, exit codes, help text, paths, and the version.
/// </summary>
public sealed class NewUserTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("simdlstm-newuser-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>A small corpus with '@', two emoji sharing a high surrogate and accented letters.</summary>
    private string Corpus(string name = "corpus.txt")
    {
        var text = new StringBuilder();
        for (int i = 0; i < 60; i++)
            text.Append(i % 3 == 0 ? "@Hello 😀 world, " : i % 3 == 1 ? "café 😂 naïve. " : "the quick brown fox\n");
        string path = Path.Combine(_directory, name);
        File.WriteAllText(path, text.ToString(), new UTF8Encoding(false));
        return path;
    }

    private static string[] Tiny(string corpus, string checkpoint, params string[] more) =>
        ["train", "--corpus", corpus, "--hidden", "8", "--seq-len", "8", "--batch", "4", "--eval-every", "10", "--sample-length", "20",
         "--checkpoint", checkpoint, .. more.Contains("--steps") ? more : [.. more, "--steps", "20"]];

    [Fact]
    public void Train_EmojiCorpus_TrainsAndSamplesWithAnEmojiPrime()
    {
        string checkpoint = Path.Combine(_directory, "emoji.safetensors");
        (int code, string output, string error) = Run(Tiny(Corpus(), checkpoint));
        Assert.Equal("", error); // before: error: The string has an unpaired surrogate at index 17, which UTF-8 cannot represent.
        Assert.Equal(0, code);
        Assert.Contains("vocabulary", output, StringComparison.Ordinal);
        LoadedModel loaded = ModelCheckpoint.Load(checkpoint);
        Assert.True(loaded.Vocabulary!.TryGetId(Rune.GetRuneAt("😂", 0), out _));

        (code, output, error) = Run(["sample", "--checkpoint", checkpoint, "--prime", "😀", "--length", "30"]);
        Assert.Equal("", error);
        Assert.Equal(0, code);
        Assert.StartsWith("😀", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Train_Latin1Corpus_FailsNamingTheFileAndTheByteOffset()
    {
        string path = Path.Combine(_directory, "latin1.txt");
        File.WriteAllBytes(path, Encoding.Latin1.GetBytes(string.Concat(Enumerable.Repeat("caf\u00e9 au lait ", 50))));
        (int code, string output, string error) = Run(Tiny(path, Path.Combine(_directory, "x.safetensors")));
        Assert.Equal(Program.ErrorExitCode, code);
        Assert.Equal("", output);
        Assert.Equal($"error: Corpus '{path}' is not valid UTF-8: byte 0xE9 at offset 3 does not begin a valid sequence (is it Latin-1 or another encoding? convert it to UTF-8 first, e.g. with iconv).", error.TrimEnd());
    }

    [Theory]
    [InlineData("--lr", "0,002", "--lr must be a number written with a decimal point ('.') but is '0,002'.")]
    [InlineData("--clip", "1,5", "--clip must be a number written with a decimal point")]
    [InlineData("--lr", "1e400", "--lr must be a finite number greater than 0")]
    [InlineData("--temperature", "0", "--temperature must be a finite number greater than 0 but is 0.")]
    [InlineData("--hidden", "1,000", "--hidden must be an integer but is '1,000'.")]
    public void Numbers_AreCultureInvariant_AndBadValuesAreUsageErrors(string option, string value, string message)
    {
        (int code, string output, string error) = Run(["train", option, value]);
        Assert.Equal(Program.UsageExitCode, code);
        Assert.Equal("", output);
        Assert.Contains(message, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sample --length 0")]
    [InlineData("sample --temperature 0")]
    [InlineData("sample --temperature -1")]
    [InlineData("train --steps 0")]
    [InlineData("train --checkpoint")]
    [InlineData("frobnicate")]
    public void EquallyBadValues_GiveTheSameUsageExitCode(string commandLine)
    {
        (int code, _, string error) = Run(commandLine.Split(' '));
        Assert.Equal(Program.UsageExitCode, code);
        Assert.StartsWith("error: ", error, StringComparison.Ordinal);
    }

    [Fact]
    public void EmptyCheckpointPath_IsAUsageError()
    {
        (int code, _, string error) = Run(["train", "--checkpoint", ""]);
        Assert.Equal(Program.UsageExitCode, code);
        Assert.Contains("--checkpoint must be a file path but is empty.", error, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownCommand_SaysSoAndListsTheCommands()
    {
        (int code, _, string error) = Run(["frobnicate"]);
        Assert.Equal(Program.UsageExitCode, code);
        Assert.Equal("error: unknown command 'frobnicate'; the commands are train, sample, binary-add, gradcheck (see --help)", error.TrimEnd());
        Assert.DoesNotContain("Required command", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Prime_BeginningWithAt_IsTakenLiterally()
    {
        string checkpoint = Path.Combine(_directory, "at.safetensors");
        Assert.Equal(0, Run(Tiny(Corpus(), checkpoint)).Code);
        (int code, string output, string error) = Run(["sample", "--checkpoint", checkpoint, "--prime", "@Hello", "--length", "10"]);
        Assert.Equal("", error); // before: error: Response file not found 'Hello'
        Assert.Equal(0, code);
        Assert.StartsWith("@Hello", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Help_ShowsEachDefaultOnce_AndTheExitCodes()
    {
        foreach (string command in new[] { "train", "sample", "gradcheck", "binary-add" })
        {
            (int code, string output, _) = Run([command, "--help"]);
            Assert.Equal(0, code);
            Assert.DoesNotContain("(default ", output, StringComparison.Ordinal);
            Assert.Contains("[default: ", output, StringComparison.Ordinal);
        }
        (_, string root, _) = Run(["--help"]);
        Assert.Contains("Exit codes: 0 success; 1 an error", root, StringComparison.Ordinal);
        Assert.Contains("2 a usage error", root, StringComparison.Ordinal);
        (_, string train, _) = Run(["train", "--help"]);
        Assert.Contains("3 training diverged", train, StringComparison.Ordinal);
    }

    [Fact]
    public void Version_IsTheLibrarysVersion()
    {
        (int code, string output, _) = Run(["--version"]);
        Assert.Equal(0, code);
        string library = typeof(SequenceModel).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion.Split('+')[0];
        Assert.Equal(library, output.Trim().Split('+')[0]); // before: 1.0.0 against the package's 0.1.0
        Assert.Equal("0.1.0", library);
    }

    [Fact]
    public void OptionsWithoutACommand_MeanTrain()
    {
        string checkpoint = Path.Combine(_directory, "default.safetensors");
        (int code, string output, string error) = Run(["--corpus", Corpus(), "--hidden", "8", "--seq-len", "8", "--batch", "4", "--steps", "10", "--sample-length", "0", "--checkpoint", checkpoint]);
        Assert.Equal("", error);
        Assert.Equal(0, code);
        Assert.Contains("done: 10 steps", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Paths_ArePrintedAbsolute()
    {
        string checkpoint = Path.Combine(_directory, "rel", "model.safetensors");
        string relative = Path.GetRelativePath(Environment.CurrentDirectory, checkpoint);
        (int code, string output, _) = Run(Tiny(Corpus(), relative));
        Assert.Equal(0, code);
        Assert.Contains($"checkpoint: {checkpoint}{Environment.NewLine}", output, StringComparison.Ordinal);
        Assert.Contains($"loss curves: {Path.Combine(_directory, "rel", "model.loss.csv")}, {Path.Combine(_directory, "rel", "model.loss.png")}", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Divergence_IsReportedAsItHappens_AndEndsWithExitCode3()
    {
        string checkpoint = Path.Combine(_directory, "diverged.safetensors");
        (int code, string output, string error) = Run(Tiny(Corpus(), checkpoint, "--lr", "1e30"));
        Assert.Equal(Program.DivergedExitCode, code); // before: exit 0 with a validation loss of 5.6e32
        Assert.Contains("warning: step ", output, StringComparison.Ordinal);
        Assert.Contains("training is diverging", output, StringComparison.Ordinal);
        string[] lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("error: training diverged: the validation loss went from ", lines[0], StringComparison.Ordinal);
        Assert.True(File.Exists(checkpoint)); // saved anyway, for inspection
    }

    [Fact]
    public void ALossThatMerelyDoesNotImprove_IsNotDivergence()
    {
        // A learning rate too small to move the loss much: the run ends normally.
        (int code, _, string error) = Run(Tiny(Corpus(), Path.Combine(_directory, "slow.safetensors"), "--lr", "1e-12", "--steps", "10"));
        Assert.Equal("", error);
        Assert.Equal(0, code);
    }

    [Theory]
    [InlineData("dir")]
    [InlineData("/dev/full")]
    public void UnwritableCheckpoint_FailsBeforeTraining(string which)
    {
        string checkpoint = which == "dir" ? _directory : which;
        if (which == "/dev/full")
            Assert.SkipUnless(OperatingSystem.IsLinux(), "needs /dev/full");
        (int code, string output, string error) = Run(Tiny(Corpus(), checkpoint));
        Assert.Equal(Program.ErrorExitCode, code);
        Assert.DoesNotContain("step ", output, StringComparison.Ordinal); // refused before the first step
        Assert.Contains($"'{checkpoint}'", error, StringComparison.Ordinal);
        Assert.DoesNotContain(".tmp", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Interruption_FirstRequestCancels_SecondStopsAtOnce()
    {
        using var interruption = new Interruption();
        Assert.False(interruption.Token.IsCancellationRequested);
        Assert.True(interruption.Request());   // keep running: finish the step and save
        Assert.True(interruption.Token.IsCancellationRequested);
        Assert.False(interruption.Request());  // let the process end
    }

    [Fact]
    public void Interrupted_SavesEverything_AndResumeReachesTheUninterruptedWeightsBitwise()
    {
        string corpus = Corpus();
        string whole = Path.Combine(_directory, "whole.safetensors");
        Assert.Equal(0, Run(Tiny(corpus, whole, "--steps", "40", "--threads", "1")).Code);

        // Interrupted as the first Ctrl-C would: the token is cancelled when the step-20 evaluation is printed.
        string part = Path.Combine(_directory, "part.safetensors");
        using var source = new CancellationTokenSource();
        (int code, string output, string error) = Run(Tiny(corpus, part, "--steps", "40", "--threads", "1"), source, "step 20: validation loss");
        Assert.Equal("", error);
        Assert.Equal(Program.InterruptedExitCode, code);
        Assert.Contains("interrupted: 20 steps", output, StringComparison.Ordinal);
        Assert.Contains($"continue with: train --resume {part} --steps 40", output, StringComparison.Ordinal);
        foreach (string file in new[] { part, TrainingState.PathFor(part), Path.ChangeExtension(part, ".loss.csv"), Path.ChangeExtension(part, ".loss.png") })
            Assert.True(File.Exists(file), file);

        // Resumed on two threads: the thread count is no setting of the run, and changes no result.
        (code, output, error) = Run(["train", "--corpus", corpus, "--resume", part, "--steps", "40", "--eval-every", "10", "--sample-length", "20", "--threads", "2"]);
        Assert.Equal("", error);
        Assert.Equal(0, code);
        Assert.Contains("resuming", output, StringComparison.Ordinal);
        Assert.Contains("tokens/s on 2 threads", output, StringComparison.Ordinal);
        Assert.Equal(ModelCheckpoint.Load(whole).Model.Parameters.Span.ToArray(), ModelCheckpoint.Load(part).Model.Parameters.Span.ToArray());
        // And the files, byte for byte: the checkpoint, and the training state (Adam's buffers, the carried state, the curves).
        Assert.Equal(File.ReadAllBytes(whole), File.ReadAllBytes(part));
        Assert.Equal(File.ReadAllBytes(TrainingState.PathFor(whole)), File.ReadAllBytes(TrainingState.PathFor(part)));
        // The curves cover the whole run, as the uninterrupted one's.
        Assert.Equal(File.ReadAllText(Path.ChangeExtension(whole, ".loss.csv")).Split('\n').Select(l => l.Split(',')[0]),
                     File.ReadAllText(Path.ChangeExtension(part, ".loss.csv")).Split('\n').Select(l => l.Split(',')[0]));

        // A setting that differs from the saved run is refused; a different corpus too.
        (code, _, error) = Run(["train", "--corpus", corpus, "--resume", part, "--steps", "60", "--hidden", "16"]);
        Assert.Equal(Program.UsageExitCode, code);
        Assert.Contains("--hidden 16 differs from the resumed run's 8", error, StringComparison.Ordinal);
        string other = Path.Combine(_directory, "other.txt");
        File.WriteAllText(other, File.ReadAllText(corpus) + "one more line\n");
        (code, _, error) = Run(["train", "--corpus", other, "--resume", part, "--steps", "60"]);
        Assert.Equal(Program.ErrorExitCode, code);
        Assert.Contains("The corpus differs from the one the resumed run was trained on", error, StringComparison.Ordinal);
    }

    [Fact]
    public void ProgressText_SaysWhenTheValidationLossWasMeasured()
    {
        var before = new TrainingProgress(5, 100, 2.5f, float.NaN, 1000, TimeSpan.Zero, TimeSpan.Zero, 0, false);
        Assert.Contains("val -", TrainCommand.BarText(before, threads: 1), StringComparison.Ordinal);
        var after = before with { Step = 260, ValidationLoss = 1.38f, ValidationStep = 250 };
        Assert.Contains("val 1.380@250", TrainCommand.BarText(after, threads: 1), StringComparison.Ordinal);
        Assert.Contains("val 1.380@250", TrainCommand.Describe(after, threads: 1), StringComparison.Ordinal);
    }

    [Fact]
    public void GitIgnore_CoversWhatTheReadmesCommandsWrite()
    {
        string[] lines = File.ReadAllLines(Path.Combine(SimdLstm.Tests.Architecture.LayeringTests.RepositoryRoot(), ".gitignore"));
        Assert.Contains("/checkpoints/", lines);
        Assert.Contains("/out/", lines);
    }

    private static (int Code, string Output, string Error) Run(string[] args, CancellationTokenSource? interrupt = null, string? interruptOn = null)
    {
        using var output = interrupt is null ? new StringWriter() : new InterruptingWriter(interrupt, interruptOn!);
        using var error = new StringWriter();
        int code = Program.Run(args, output, error, interrupt?.Token ?? default);
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>Output that cancels a token when a line containing a marker is written: a Ctrl-C at a known step.</summary>
    private sealed class InterruptingWriter(CancellationTokenSource source, string marker) : StringWriter
    {
        public override void WriteLine(string? value)
        {
            base.WriteLine(value);
            if (value is not null && value.Contains(marker, StringComparison.Ordinal))
                source.Cancel();
        }
    }
}
