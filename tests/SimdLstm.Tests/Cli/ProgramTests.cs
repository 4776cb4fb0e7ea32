using System;
using System.IO;
using System.Linq;
using SimdLstm.Text;
using SimdLstm.Cli;
using SimdLstm.Serialization;
using SimdLstm.Training;
using Xunit;

namespace SimdLstm.Tests.Cli;

/// <summary>The program run in-process: error paths give one line on stderr and a non-zero exit; the commands work end to end.</summary>
public sealed class ProgramTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "simdlstm-cli-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_directory))
            Directory.Delete(_directory, recursive: true);
    }

    [Theory]
    [InlineData("sample --checkpoint /nonexistent/dir/model.safetensors", "does not exist")]
    [InlineData("train --hidden abc", "--hidden")]
    [InlineData("train --hidden 0", "--hidden must be at least 1")]
    [InlineData("train --cell foo", "--cell must be lstm, gru or rnn but is 'foo'.")]
    [InlineData("sample --cell gru", "--cell")] // sample takes the cell from the checkpoint
    [InlineData("gradcheck --cell foo", "--cell must be lstm, gru or rnn but is 'foo'.")]
    [InlineData("train --lr -1", "--lr")]
    [InlineData("train --corpus /nonexistent/corpus.txt", "does not exist")]
    [InlineData("gradcheck --steps 0", "--steps")]
    [InlineData("frobnicate", "frobnicate")]
    public void BadInput_OneErrorLineAndNonZeroExit(string commandLine, string expectedFragment)
    {
        (int code, string output, string error) = Run(commandLine.Split(' '));
        Assert.NotEqual(0, code);
        string[] lines = error.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("error: ", lines[0], StringComparison.Ordinal);
        Assert.Contains(expectedFragment, lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal); // no stack trace
        Assert.Equal("", output);
    }

    [Fact]
    public void Sample_CorruptCheckpoint_OneErrorLine()
    {
        Directory.CreateDirectory(_directory);
        string path = Path.Combine(_directory, "bad.safetensors");
        File.WriteAllBytes(path, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        (int code, _, string error) = Run(["sample", "--checkpoint", path]);
        Assert.Equal(Program.ErrorExitCode, code);
        Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", error, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(CellCases.Cells), MemberType = typeof(CellCases))]
    public void GradCheck_Passes(CellKind cell)
    {
        (int code, string output, string error) = Run(["gradcheck", "--cell", cell.ToString().ToLowerInvariant()]);
        Assert.Equal("", error);
        Assert.Equal(0, code);
        Assert.StartsWith(cell.ToString().ToUpperInvariant() + " I=", output, StringComparison.Ordinal);
        Assert.Contains("gradcheck passed", output, StringComparison.Ordinal);
        Assert.DoesNotContain("FAIL", output, StringComparison.Ordinal);
        Assert.Contains("weight_hh_l1", output, StringComparison.Ordinal);
    }

    [Fact]
    public void TrainThenSample_WritesCheckpointCurvesAndText()
    {
        string checkpoint = Path.Combine(_directory, "run", "tiny.safetensors");
        (int code, string output, string error) = Run(
            ["train", "--hidden", "16", "--seq-len", "16", "--batch", "4", "--steps", "30", "--eval-every", "10", "--sample-length", "40", "--checkpoint", checkpoint]);
        Assert.Equal("", error);
        Assert.Equal(0, code);
        Assert.True(File.Exists(checkpoint));
        string csv = Path.Combine(_directory, "run", "tiny.loss.csv");
        string[] rows = File.ReadAllLines(csv);
        Assert.Equal("step,train_loss,validation_loss", rows[0]);
        Assert.Contains(rows, r => r.StartsWith("30,", StringComparison.Ordinal) && r.Split(',').All(c => c.Length > 0));
        byte[] png = File.ReadAllBytes(Path.Combine(_directory, "run", "tiny.loss.png"));
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
        Assert.Contains("tokens/s", output, StringComparison.Ordinal);

        (code, output, error) = Run(["sample", "--checkpoint", checkpoint, "--length", "100", "--prime", "And God", "--seed", "3"]);
        Assert.Equal("", error);
        Assert.Equal(0, code);
        Assert.StartsWith("And God", output, StringComparison.Ordinal);
        Assert.Contains("µs per character", output, StringComparison.Ordinal);

        (code, _, error) = Run(["sample", "--checkpoint", checkpoint, "--prime", "Zebra#"]);
        Assert.Equal(Program.UsageExitCode, code);
        Assert.Contains("not in the checkpoint's vocabulary", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("lstm", CellKind.Lstm)]
    [InlineData("gru", CellKind.Gru)]
    [InlineData("GRU", CellKind.Gru)]
    [InlineData("Rnn", CellKind.Rnn)]
    public void ParseCell_AcceptsEachNameInAnyCase(string text, CellKind expected) =>
        Assert.Equal(expected, CommonOptions.ParseCell(text));

    [Theory]
    [InlineData("foo")]
    [InlineData("")]
    [InlineData(null)]
    [InlineData("gru ")]
    public void ParseCell_RejectsAnythingElse(string? text)
    {
        var e = Assert.Throws<CliException>(() => CommonOptions.ParseCell(text));
        Assert.Equal($"--cell must be lstm, gru or rnn but is '{text}'.", e.Message);
    }

    [Fact]
    public void Help_NamesEveryCell()
    {
        foreach (string command in new[] { "train", "gradcheck" })
        {
            (int code, string output, _) = Run([command, "--help"]);
            Assert.Equal(0, code);
            Assert.Contains("lstm, gru or rnn", output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void TrainGruThenSample_CheckpointIsAGruAndSamples()
    {
        string checkpoint = Path.Combine(_directory, "gru.safetensors");
        (int code, string output, string error) = Run(
            ["train", "--cell", "gru", "--hidden", "12", "--layers", "2", "--seq-len", "8", "--batch", "4", "--steps", "20", "--eval-every", "10",
             "--sample-length", "20", "--checkpoint", checkpoint]);
        Assert.Equal("", error);
        Assert.Equal(0, code);
        Assert.Contains("GRU H=12 layers=2", output, StringComparison.Ordinal);
        Assert.Contains("validation loss", output, StringComparison.Ordinal);

        LoadedModel loaded = ModelCheckpoint.Load(checkpoint);
        Assert.Equal(CellKind.Gru, loaded.Model.Options.Cell);
        Assert.Equal(12, loaded.Model.Options.HiddenSize);
        Assert.Equal(2, loaded.Model.Options.NumLayers);
        Assert.Equal(new[] { 3 * 12, loaded.Vocabulary!.Count }, loaded.Model.Parameters.Tensors.Single(t => t.Name == "weight_ih_l0").Shape);
        Assert.All(loaded.Model.Parameters.Span.ToArray(), p => Assert.True(float.IsFinite(p)));

        (code, output, error) = Run(["sample", "--checkpoint", checkpoint, "--length", "50", "--prime", "And", "--seed", "2"]);
        Assert.Equal("", error);
        Assert.Equal(0, code);
        Assert.StartsWith("And", output, StringComparison.Ordinal);
        Assert.Contains("µs per character (50 characters, GRU H=12 layers=2, fp32 weights)", output, StringComparison.Ordinal);
        // The prime and 50 generated characters (which may hold line breaks), then one line of timing.
        output = output.ReplaceLineEndings("\n");
        string text = output[..output.LastIndexOf('\n', output.Length - 2)];
        Assert.Equal("And".Length + 50, text.Length);
        Assert.All(text.EnumerateRunes(), c => Assert.True(loaded.Vocabulary.TryGetId(c, out _)));
    }

    [Fact]
    public void Sample_CheckpointWithUnknownCell_OneErrorLineNamingIt()
    {
        Vocabulary vocabulary = Vocabulary.FromText("abc \n");
        var model = new SequenceModel(RecurrentOptions.Gru(vocabulary.Count, 4), vocabulary.Count, seed: 1);
        SafeTensorsFile good = SafeTensorsFile.Parse(ModelCheckpoint.CreateWriter(model, vocabulary).ToArray());
        var writer = new SafeTensorsWriter();
        foreach ((string key, string value) in good.Metadata)
            writer.AddMetadata(key, key == "cell" ? "lru" : value);
        foreach (ParameterTensor t in model.Parameters.Tensors)
            writer.AddCopy(t.Name, [.. t.Shape], model.Parameters[t.Name].Span);
        Directory.CreateDirectory(_directory);
        string path = Path.Combine(_directory, "lru.safetensors");
        writer.Save(path);

        (int code, string output, string error) = Run(["sample", "--checkpoint", path]);
        Assert.Equal(Program.ErrorExitCode, code);
        Assert.Equal("", output);
        Assert.Equal($"error: '{path}' is not a valid SimdLstm checkpoint: Checkpoint metadata 'cell' is 'lru'; expected 'lstm', 'gru' or 'rnn'.", error.TrimEnd());
    }

    private static (int Code, string Output, string Error) Run(string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        int code = Program.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
