using System;
using System.CommandLine;
using System.Diagnostics.CodeAnalysis;
using System.IO;
using System.Linq;
using SimdLstm.Serialization;
using SimdLstm.Training;

namespace SimdLstm.Cli;

/// <summary>
/// The command-line program: <c>train</c> (a character-level LSTM, GRU or RNN on a text), <c>sample</c>, <c>binary-add</c> and
/// <c>gradcheck</c>. With no arguments it runs <c>train</c> with its defaults on the embedded corpus.
/// </summary>
internal static class Program
{
    /// <summary>Exit code of a run that failed with a usage or runtime error.</summary>
    public const int ErrorExitCode = 1;

    /// <summary>Exit code of a command line that does not parse.</summary>
    public const int UsageExitCode = 2;

    private static int Main(string[] args) => Run(args, Console.Out, Console.Error);

    /// <summary>
    /// Runs the program with <paramref name="args"/>, writing normal output to <paramref name="output"/> and errors to
    /// <paramref name="error"/> (one line each, never a stack trace). Returns the exit code.
    /// </summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Length == 0)
            args = ["train"];
        var context = new CliContext(output, error, ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected);
        RootCommand root = new("SimdLstm: char-level LSTM/GRU/RNN training, sampling, binary addition and gradient checks on the CPU.")
        {
            TrainCommand.Create(context),
            SampleCommand.Create(context),
            BinaryAddCommand.Create(context),
            GradCheckCommand.Create(context),
        };
        ParseResult parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            error.WriteLine($"error: {string.Join(" ", parsed.Errors.Select(e => OneLine(e.Message)))} (see --help)");
            return UsageExitCode;
        }
        return parsed.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
    }

    /// <summary>Runs a command's body, turning every exception into one line on stderr and exit code 1.</summary>
    [SuppressMessage("Design", "CA1031:Do not catch general exception types", Justification = "The program's contract: any failure is one line on stderr and a non-zero exit, never a stack trace.")]
    public static int Guarded(CliContext context, Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e)
        {
            context.Error.WriteLine($"error: {Describe(e)}");
            return ErrorExitCode;
        }
    }

    private static string Describe(Exception e) => e switch
    {
        CliException or SafeTensorsFormatException or NonFiniteGradientException => OneLine(e.Message),
        FileNotFoundException f => $"file not found: {f.FileName ?? OneLine(f.Message)}",
        DirectoryNotFoundException or IOException or UnauthorizedAccessException => OneLine(e.Message),
        ArgumentException => OneLine(e.Message),
        OutOfMemoryException => "out of memory: try smaller sizes",
        _ => $"{e.GetType().Name}: {OneLine(e.Message)}",
    };

    private static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();
}

/// <summary>Where a command writes, and whether a live progress display is possible.</summary>
/// <param name="Output">Normal output.</param>
/// <param name="Error">Error lines.</param>
/// <param name="Interactive">Whether the output is a terminal (live progress bar) rather than a file, pipe or test writer (plain lines).</param>
internal sealed record CliContext(TextWriter Output, TextWriter Error, bool Interactive);
