using System;
using System.Runtime.InteropServices;

namespace SimdLstm;

/// <summary>
/// LSTM (PyTorch's <c>nn.LSTM</c>): gate rows i, f, g, o; c = σ(f)⊙c₋₁ + σ(i)⊙tanh(g), h = σ(o)⊙tanh(c). The input and
/// recurrent projections are fused into one gate buffer; backward reads the saved activations and c.
/// </summary>
internal sealed class LstmCell : RecurrentCell
{
    public static readonly LstmCell Instance = new();

    private LstmCell()
    {
    }

    public override CellKind Kind => CellKind.Lstm;

    public override int GateCount => 4;

    public override bool HasCellState => true;

    public override bool SeparateRecurrent => false;

    public override bool PassesHiddenDirectly => false;

    public override void Forward(int hiddenSize, int batch, Span<float> gates, ReadOnlySpan<float> recurrent, ReadOnlySpan<float> hPrev,
        ReadOnlySpan<float> cPrev, Span<float> c, Span<float> h)
    {
        int g = 4 * hiddenSize;
        for (int b = 0; b < batch; b++)
        {
            Kernels.LstmPointwiseForward(gates.Slice(b * g, g), cPrev.Slice(b * hiddenSize, hiddenSize),
                c.Slice(b * hiddenSize, hiddenSize), h.Slice(b * hiddenSize, hiddenSize));
        }
    }

    public override void ForwardUnits(int hiddenSize, Span<float> gates, ReadOnlySpan<float> recurrent, ReadOnlySpan<float> hPrev,
        Span<float> c, Span<float> h, int first, int last)
    {
        ref float cr = ref MemoryMarshal.GetReference(c);
        LstmPointwise.ForwardRange(ref MemoryMarshal.GetReference(gates), ref cr, ref cr, ref MemoryMarshal.GetReference(h),
            (nuint)first, (nuint)last, (nuint)hiddenSize);
    }

    public override void Backward(int hiddenSize, int batch, ReadOnlySpan<float> gates, ReadOnlySpan<float> recurrent,
        ReadOnlySpan<float> hPrev, ReadOnlySpan<float> cPrev, ReadOnlySpan<float> c, ReadOnlySpan<float> h, ReadOnlySpan<float> dH,
        Span<float> dCell, Span<float> dGates, Span<float> dRecurrent, Span<float> dHPrev)
    {
        int g = 4 * hiddenSize;
        for (int b = 0; b < batch; b++)
        {
            Span<float> dc = dCell.Slice(b * hiddenSize, hiddenSize);
            Kernels.LstmPointwiseBackward(gates.Slice(b * g, g), cPrev.Slice(b * hiddenSize, hiddenSize), c.Slice(b * hiddenSize, hiddenSize),
                dH.Slice(b * hiddenSize, hiddenSize), dc, dGates.Slice(b * g, g), dc);
        }
    }
}
