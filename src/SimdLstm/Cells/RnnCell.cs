using System;

namespace SimdLstm;

/// <summary>
/// Vanilla (Elman) RNN (PyTorch's <c>nn.RNN</c>): h = act(W_ih·x + b_ih + W_hh·h₋₁ + b_hh) with act = tanh or ReLU
/// (<c>nonlinearity</c>). One gate; the two projections are fused; backward takes the derivative from the saved output h.
/// Its gate buffer is [B, H], so a step's pointwise part is one call over all B·H elements.
/// </summary>
internal sealed class RnnCell : RecurrentCell
{
    public static readonly RnnCell Tanh = new(RnnActivation.Tanh);

    public static readonly RnnCell Relu = new(RnnActivation.Relu);

    private readonly RnnActivation _activation;

    private RnnCell(RnnActivation activation) => _activation = activation;

    public override CellKind Kind => CellKind.Rnn;

    public override int GateCount => 1;

    public override bool HasCellState => false;

    public override bool SeparateRecurrent => false;

    public override bool PassesHiddenDirectly => false;

    public override void Forward(int hiddenSize, int batch, Span<float> gates, ReadOnlySpan<float> recurrent, ReadOnlySpan<float> hPrev,
        ReadOnlySpan<float> cPrev, Span<float> c, Span<float> h)
    {
        int n = hiddenSize * batch;
        Kernels.RnnPointwiseForward(gates[..n], h[..n], _activation);
    }

    public override void ForwardUnits(int hiddenSize, Span<float> gates, ReadOnlySpan<float> recurrent, ReadOnlySpan<float> hPrev,
        Span<float> c, Span<float> h, int first, int last) =>
        Kernels.RnnPointwiseForward(gates[first..last], h[first..last], _activation);

    public override void Backward(int hiddenSize, int batch, ReadOnlySpan<float> gates, ReadOnlySpan<float> recurrent,
        ReadOnlySpan<float> hPrev, ReadOnlySpan<float> cPrev, ReadOnlySpan<float> c, ReadOnlySpan<float> h, ReadOnlySpan<float> dH,
        Span<float> dCell, Span<float> dGates, Span<float> dRecurrent, Span<float> dHPrev)
    {
        int n = hiddenSize * batch;
        Kernels.RnnPointwiseBackward(h[..n], dH[..n], dGates[..n], _activation);
    }
}
