using System;
using System.Runtime.InteropServices;

namespace SimdLstm;

/// <summary>
/// GRU (PyTorch's <c>nn.GRU</c>): gate rows r, z, n;
/// r = σ(W_ir·x + b_ir + W_hr·h₋₁ + b_hr), z = σ(W_iz·x + b_iz + W_hz·h₋₁ + b_hz),
/// n = tanh(W_in·x + b_in + r ⊙ (W_hn·h₋₁ + b_hn)), h = (1 − z) ⊙ n + z ⊙ h₋₁.
/// Because r multiplies the recurrent part of n alone, the recurrent projection W_hh·h₋₁ + b_hh is kept apart
/// (<see cref="SeparateRecurrent"/>), and h₋₁ reaches h directly through z (<see cref="PassesHiddenDirectly"/>).
/// </summary>
internal sealed class GruCell : RecurrentCell
{
    public static readonly GruCell Instance = new();

    private GruCell()
    {
    }

    public override CellKind Kind => CellKind.Gru;

    public override int GateCount => 3;

    public override bool HasCellState => false;

    public override bool SeparateRecurrent => true;

    public override bool PassesHiddenDirectly => true;

    public override void Forward(int hiddenSize, int batch, Span<float> gates, ReadOnlySpan<float> recurrent, ReadOnlySpan<float> hPrev,
        ReadOnlySpan<float> cPrev, Span<float> c, Span<float> h)
    {
        int g = 3 * hiddenSize;
        for (int b = 0; b < batch; b++)
        {
            Kernels.GruPointwiseForward(gates.Slice(b * g, g), recurrent.Slice(b * g, g), hPrev.Slice(b * hiddenSize, hiddenSize),
                h.Slice(b * hiddenSize, hiddenSize));
        }
    }

    public override void ForwardUnits(int hiddenSize, Span<float> gates, ReadOnlySpan<float> recurrent, ReadOnlySpan<float> hPrev,
        Span<float> c, Span<float> h, int first, int last) =>
        GruPointwise.ForwardRange(ref MemoryMarshal.GetReference(gates), ref MemoryMarshal.GetReference(recurrent),
            ref MemoryMarshal.GetReference(hPrev), ref MemoryMarshal.GetReference(h), (nuint)first, (nuint)last, (nuint)hiddenSize);

    public override void Backward(int hiddenSize, int batch, ReadOnlySpan<float> gates, ReadOnlySpan<float> recurrent,
        ReadOnlySpan<float> hPrev, ReadOnlySpan<float> cPrev, ReadOnlySpan<float> c, ReadOnlySpan<float> h, ReadOnlySpan<float> dH,
        Span<float> dCell, Span<float> dGates, Span<float> dRecurrent, Span<float> dHPrev)
    {
        int g = 3 * hiddenSize;
        for (int b = 0; b < batch; b++)
        {
            Kernels.GruPointwiseBackward(gates.Slice(b * g, g), recurrent.Slice(b * g, g), hPrev.Slice(b * hiddenSize, hiddenSize),
                dH.Slice(b * hiddenSize, hiddenSize), dGates.Slice(b * g, g), dRecurrent.Slice(b * g, g), dHPrev.Slice(b * hiddenSize, hiddenSize));
        }
    }
}
