using System;

namespace SimdLstm;

/// <summary>
/// One LSTM step for a batch of B rows, after the gates hold their projections: the fused pointwise part forward, and its
/// backward. Gate rows i, f, g, o as PyTorch. No loop over time.
/// </summary>
internal static class LstmCell
{
    /// <summary>
    /// In: gates = W_ih·x + b_ih + W_hh·h₋₁ + b_hh. Out: gates activated (σ(i), σ(f), tanh(g), σ(o)), c = f⊙c₋₁ + i⊙g,
    /// h = o⊙tanh(c). // gates [B, 4H], cellPrev, cell, hidden [B, H]; cell may be cellPrev exactly.
    /// </summary>
    public static void Forward(int hiddenSize, int batch, Span<float> gates, ReadOnlySpan<float> cellPrev, Span<float> cell, Span<float> hidden)
    {
        int g = 4 * hiddenSize;
        for (int b = 0; b < batch; b++)
        {
            Kernels.LstmPointwiseForward(
                gates.Slice(b * g, g),
                cellPrev.Slice(b * hiddenSize, hiddenSize),
                cell.Slice(b * hiddenSize, hiddenSize),
                hidden.Slice(b * hiddenSize, hiddenSize));
        }
    }

    /// <summary>
    /// From dL/dh_t (all of it: from the output and from step t+1) and dL/dc_t arriving from step t+1, writes dL/dgates and
    /// replaces <paramref name="dCell"/> by dL/dc_{t−1}. // gates [B, 4H] activated, cellPrev, cell, dHidden, dCell [B, H]
    /// </summary>
    public static void Backward(int hiddenSize, int batch, ReadOnlySpan<float> gates, ReadOnlySpan<float> cellPrev, ReadOnlySpan<float> cell,
        ReadOnlySpan<float> dHidden, Span<float> dCell, Span<float> dGates)
    {
        int g = 4 * hiddenSize;
        for (int b = 0; b < batch; b++)
        {
            Span<float> dc = dCell.Slice(b * hiddenSize, hiddenSize);
            Kernels.LstmPointwiseBackward(
                gates.Slice(b * g, g),
                cellPrev.Slice(b * hiddenSize, hiddenSize),
                cell.Slice(b * hiddenSize, hiddenSize),
                dHidden.Slice(b * hiddenSize, hiddenSize),
                dc,
                dGates.Slice(b * g, g),
                dc);
        }
    }
}
