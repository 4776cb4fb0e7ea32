using System;

namespace SimdLstm.Onnx;

/// <summary>
/// An ONNX model could not be imported: the bytes are not a well-formed model (truncated, corrupt, sizes that do not
/// fit the input), or the graph is not a recurrent model this library can run (the message names the node, the op or
/// the attribute).
/// </summary>
public sealed class OnnxFormatException : Exception
{
    /// <summary>Creates the exception with no message.</summary>
    public OnnxFormatException()
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public OnnxFormatException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and the error that caused it.</summary>
    public OnnxFormatException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
