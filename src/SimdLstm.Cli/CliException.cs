using System;

namespace SimdLstm.Cli;

/// <summary>A user-facing error: its message is printed as one line on stderr and the program exits with <see cref="ExitCode"/>.</summary>
internal sealed class CliException : Exception
{
    public CliException()
    {
    }

    public CliException(string message)
        : base(message)
    {
    }

    public CliException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public CliException(string message, int exitCode)
        : base(message)
    {
        ExitCode = exitCode;
    }

    /// <summary>The program's exit code for this error: <see cref="Program.ErrorExitCode"/> unless said otherwise.</summary>
    public int ExitCode { get; } = Program.ErrorExitCode;

    /// <summary>An error in what the command line asked for: exit code <see cref="Program.UsageExitCode"/>.</summary>
    public static CliException Usage(string message) => new(message, Program.UsageExitCode);
}
