using System;
using System.CommandLine;
using System.Diagnostics.CodeAnalysis;
using System.IO;
using System.Linq;
using System.Threading;
using SimdLstm.Serialization;
using SimdLstm.Training;

namespace SimdLstm.Cli;

/// <summary>
/// The command-line program: <c>train</c> (a character-level LSTM, GRU or RNN on a text), <c>sample</c>, <c>binary-add</c> and
/// <c>gradcheck</c>. With no arguments it runs <c>train</c> with its defaults on the embedded corpus.
/// </summary>
internal static class Program
{
    /// <summary>Exit code of a run that failed: a missing or corrupt file, an unwritable path, a failed check.</summary>
    public const int ErrorExitCode = 1;

    /// <summary>Exit code of a command line that does not parse or asks for a value out of range.</summary>
    public const int UsageExitCode = 2;

    /// <summary>Exit code of a training run that diverged: its final validation loss is not finite or is worse than its first.</summary>
    public const int DivergedExitCode = 3;

    /// <summary>Exit code of a run stopped by Ctrl-C after it saved what it had (128 + SIGINT, as a shell reports it).</summary>
    public const int InterruptedExitCode = 130;

    /// <summary>The exit codes, as <c>--help</c> shows them.</summary>
    public const string ExitCodesHelp =
        "Exit codes: 0 success; 1 an error (a missing, unreadable or corrupt file, an unwritable path) or a failed check; " +
        "2 a usage error (an unknown command or option, a value out of range); 3 training diverged; 130 stopped by Ctrl-C after saving.";

    private static readonly string[] RootOptions = ["--help", "-h", "-?", "/?", "/h", "--version"];

    private static int Main(string[] args)
    {
        using var interruption = Interruption.ForConsole(Console.Error);
        return Run(args, Console.Out, Console.Error, interruption.Token);
    }

    /// <summary>
    /// Runs the program with <paramref name="args"/>, writing normal output to <paramref name="output"/> and errors to
    /// <paramref name="error"/> (one line each, never a stack trace). Returns the exit code. A cancelled
    /// <paramref name="interrupt"/> asks a training run to stop after its current step, save and exit.
    /// </summary>
    public static int Run(string[] args, TextWriter output, TextWriter error, CancellationToken interrupt = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        // No arguments, or options only, mean train (the program's main use).
        if (args.Length == 0 || (args[0].StartsWith('-') && !RootOptions.Contains(args[0])))
            args = ["train", .. args];
        var context = new CliContext(output, error, ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected, interrupt);
        RootCommand root = new("SimdLstm: char-level LSTM/GRU/RNN training, sampling, binary addition and gradient checks on the CPU. " + ExitCodesHelp)
        {
            TrainCommand.Create(context),
            SampleCommand.Create(context),
            BinaryAddCommand.Create(context),
            GradCheckCommand.Create(context),
        };
        if (!args[0].StartsWith('-') && !args[0].StartsWith('/') && root.Subcommands.All(c => c.Name != args[0]))
        {
            error.WriteLine($"error: unknown command '{OneLine(args[0])}'; the commands are {string.Join(", ", root.Subcommands.Select(c => c.Name))} (see --help)");
            return UsageExitCode;
        }
        // Response files are off: a value beginning with '@' (--prime @Hello) is taken literally.
        ParseResult parsed = root.Parse(args, new ParserConfiguration { ResponseFileTokenReplacer = null });
        if (parsed.Errors.Count > 0)
        {
            error.WriteLine($"error: {string.Join(" ", parsed.Errors.Select(e => OneLine(e.Message)).Distinct())} (see --help)");
            return UsageExitCode;
        }
        return parsed.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
    }

    /// <summary>Runs a command's body, turning every exception into one line on stderr and a non-zero exit code.</summary>
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
            return e is CliException cli ? cli.ExitCode : ErrorExitCode;
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

/// <summary>Where a command writes, whether a live progress display is possible, and the Ctrl-C request.</summary>
/// <param name="Output">Normal output.</param>
/// <param name="Error">Error lines.</param>
/// <param name="Interactive">Whether the output is a terminal (live progress bar) rather than a file, pipe or test writer (plain lines).</param>
/// <param name="Interrupt">Cancelled by the first Ctrl-C: a training run finishes its step, saves and exits.</param>
internal sealed record CliContext(TextWriter Output, TextWriter Error, bool Interactive, CancellationToken Interrupt = default);

/// <summary>
/// Ctrl-C handling: the first press cancels <see cref="Token"/> and keeps the process alive, so a training run can finish
/// its step and save; a second press ends the process at once.
/// </summary>
internal sealed class Interruption : IDisposable
{
    private readonly CancellationTokenSource _source = new();
    private ConsoleCancelEventHandler? _handler;
    private int _presses;

    /// <summary>Cancelled at the first request.</summary>
    public CancellationToken Token => _source.Token;

    /// <summary>Records a Ctrl-C; true for the first (cancel the token and keep running), false for any later one (stop now).</summary>
    public bool Request()
    {
        if (Interlocked.Increment(ref _presses) != 1)
            return false;
        _source.Cancel();
        return true;
    }

    /// <summary>An interruption fed by the console's Ctrl-C, which writes one line on <paramref name="error"/> at the first press.</summary>
    public static Interruption ForConsole(TextWriter error)
    {
        var interruption = new Interruption();
        interruption._handler = (_, e) =>
        {
            if (interruption.Request())
            {
                e.Cancel = true;
                error.WriteLine("interrupted: finishing the current step, then saving (Ctrl-C again stops at once, without saving)");
            }
        };
        Console.CancelKeyPress += interruption._handler;
        return interruption;
    }

    public void Dispose()
    {
        if (_handler is not null)
            Console.CancelKeyPress -= _handler;
        _source.Dispose();
    }
}
