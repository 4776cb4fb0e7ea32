using System;

namespace SimdLstm.Testing;

/// <summary>
/// Thrown by <see cref="GradientCheckReport.AssertWithin"/> and <see cref="ReferenceComparison.AssertClose"/>
/// when a value is outside its tolerance; the message names the tensor, the worst index and both values.
/// </summary>
public sealed class ToleranceExceededException : Exception
{
    /// <summary>Creates the exception with a generic message.</summary>
    public ToleranceExceededException()
        : base("A value was outside its tolerance.")
    {
    }

    /// <summary>Creates the exception with a message that names what failed.</summary>
    /// <param name="message">The tensor(s), worst index and values.</param>
    public ToleranceExceededException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the exception that caused it.</summary>
    /// <param name="message">The tensor(s), worst index and values.</param>
    /// <param name="innerException">The cause.</param>
    public ToleranceExceededException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
