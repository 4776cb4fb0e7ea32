using System;

namespace SimdLstm.Serialization;

/// <summary>
/// A safetensors file (or buffer) is corrupt, violates the format, or does not hold what was asked of
/// it (a missing tensor, a different shape, a dtype that cannot be read as float). The message names
/// the problem, and the tensor when there is one. The reader throws no other exception type for
/// anything found in the bytes.
/// </summary>
public sealed class SafeTensorsFormatException : Exception
{
    /// <summary>Creates the exception with a default message.</summary>
    public SafeTensorsFormatException()
        : base("The safetensors data is not valid.")
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/>.</summary>
    /// <param name="message">The reason.</param>
    public SafeTensorsFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with <paramref name="message"/> and the exception that revealed the problem.</summary>
    /// <param name="message">The reason.</param>
    /// <param name="innerException">The cause, e.g. a JSON parse error.</param>
    public SafeTensorsFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
