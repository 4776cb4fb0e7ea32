namespace SimdLstm.Onnx;

/// <summary>What an exported ONNX model takes and in which layout.</summary>
public sealed record OnnxExportOptions
{
    /// <summary>The default-domain opset written (14 or later; LSTM, GRU and RNN take <c>layout</c> since 14). Default 14.</summary>
    public int Opset { get; init; } = 14;

    /// <summary>Whether the model takes an optional int32 input <c>sequence_lens</c> [batch], every recurrent node's <c>sequence_lens</c>.</summary>
    public bool SequenceLengths { get; init; }

    /// <summary>Whether the model takes the initial state as inputs <c>h0</c> (and, for an LSTM, <c>c0</c>), [L·D, batch, H] as PyTorch's.</summary>
    public bool InitialState { get; init; }

    /// <summary>Whether the input and the sequence output are batch-first ([batch, seq, ·]); time-major ([seq, batch, ·]) by default.</summary>
    public bool BatchFirst { get; init; }

    /// <summary>The name of the sequence input. Default <c>input</c>.</summary>
    public string InputName { get; init; } = "input";
}
