using System;

namespace SimdLstm.Cli;

/// <summary>A user-facing error: its message is printed as one line on stderr and the program exits with code 1.</summary>
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
}
