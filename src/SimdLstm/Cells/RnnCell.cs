using System;

namespace SimdLstm;

/// <summary>
/// Vanilla (Elman) RNN with tanh (PyTorch's <c>nn.RNN(nonlinearity='tanh')</c>): h = tanh(W_ih·x + b_ih + W_hh·h₋₁ + b_hh).
/// One gate; the two projections are fused; backward takes the derivative from the saved output h.
/// </summary>
internal readonly struct RnnTanhCell : IRecurrentCell
{
    public static CellKind Kind => CellKind.Rnn;

    public static int GateCount => 1;

    public static bool HasCellState => false;

    public static bool SeparateRecurrent => false;

    public static bool PassesHiddenDirectly => false;

    public static void Forward(int hiddenSize, int batch, Span<float> gates, ReadOnlySpan<float> recurrent, ReadOnlySpan<float> hPrev,
        ReadOnlySpan<float> cPrev, Span<float> c, Span<float> h) =>
        RnnCellMath.Forward(RnnActivation.Tanh, hiddenSize * batch, gates, h);

    public static void ForwardUnits(int hiddenSize, Span<float> gates, ReadOnlySpan<float> recurrent, ReadOnlySpan<float> hPrev,
        Span<float> c, Span<float> h, int first, int last) =>
        Kernels.RnnPointwiseForward(gates[first..last], h[first..last], RnnActivation.Tanh);

    public static void Backward(int hiddenSize, int batch, ReadOnlySpan<float> gates, ReadOnlySpan<float> recurrent,
        ReadOnlySpan<float> hPrev, ReadOnlySpan<float> cPrev, ReadOnlySpan<float> c, ReadOnlySpan<float> h, ReadOnlySpan<float> dH,
        Span<float> dCell, Span<float> dGates, Span<float> dRecurrent, Span<float> dHPrev) =>
        RnnCellMath.Backward(RnnActivation.Tanh, hiddenSize * batch, h, dH, dGates);
}

/// <summary>Vanilla (Elman) RNN with ReLU (<c>nn.RNN(nonlinearity='relu')</c>): h = max(0, W_ih·x + b_ih + W_hh·h₋₁ + b_hh).</summary>
internal readonly struct RnnReluCell : IRecurrentCell
{
    public static CellKind Kind => CellKind.Rnn;

    public static int GateCount => 1;

    public static bool HasCellState => false;

    public static bool SeparateRecurrent => false;

    public static bool PassesHiddenDirectly => false;

    public static void Forward(int hiddenSize, int batch, Span<float> gates, ReadOnlySpan<float> recurrent, ReadOnlySpan<float> hPrev,
        ReadOnlySpan<float> cPrev, Span<float> c, Span<float> h) =>
        RnnCellMath.Forward(RnnActivation.Relu, hiddenSize * batch, gates, h);

    public static void ForwardUnits(int hiddenSize, Span<float> gates, ReadOnlySpan<float> recurrent, ReadOnlySpan<float> hPrev,
        Span<float> c, Span<float> h, int first, int last) =>
        Kernels.RnnPointwiseForward(gates[first..last], h[first..last], RnnActivation.Relu);

    public static void Backward(int hiddenSize, int batch, ReadOnlySpan<float> gates, ReadOnlySpan<float> recurrent,
        ReadOnlySpan<float> hPrev, ReadOnlySpan<float> cPrev, ReadOnlySpan<float> c, ReadOnlySpan<float> h, ReadOnlySpan<float> dH,
        Span<float> dCell, Span<float> dGates, Span<float> dRecurrent, Span<float> dHPrev) =>
        RnnCellMath.Backward(RnnActivation.Relu, hiddenSize * batch, h, dH, dGates);
}

// The RNN's pointwise step over all B·H elements at once (its gate buffer is [B, H], so rows need no loop).
internal static class RnnCellMath
{
    public static void Forward(RnnActivation activation, int n, ReadOnlySpan<float> preActivation, Span<float> hidden) =>
        Kernels.RnnPointwiseForward(preActivation[..n], hidden[..n], activation);

    public static void Backward(RnnActivation activation, int n, ReadOnlySpan<float> hidden, ReadOnlySpan<float> dHidden, Span<float> dPreActivation) =>
        Kernels.RnnPointwiseBackward(hidden[..n], dHidden[..n], dPreActivation[..n], activation);
}
