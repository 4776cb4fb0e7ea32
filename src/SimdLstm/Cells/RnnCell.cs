using System;

namespace SimdLstm;

/// <summary>
/// One vanilla RNN step for a batch of B rows, after the pre-activation holds its projections: h = act(pre) forward, and
/// dpre = dh ⊙ act'(h) backward, the derivative taken from the saved output. No loop over time.
/// </summary>
internal static class RnnCell
{
    /// <summary>h = act(pre). // preActivation, hidden [B, H]</summary>
    public static void Forward(RnnActivation activation, int hiddenSize, int batch, ReadOnlySpan<float> preActivation, Span<float> hidden)
    {
        int n = hiddenSize * batch;
        Kernels.RnnPointwiseForward(preActivation[..n], hidden[..n], activation);
    }

    /// <summary>dPre = dh ⊙ act'(h). // hidden, dHidden, dPreActivation [B, H]</summary>
    public static void Backward(RnnActivation activation, int hiddenSize, int batch, ReadOnlySpan<float> hidden, ReadOnlySpan<float> dHidden, Span<float> dPreActivation)
    {
        int n = hiddenSize * batch;
        Kernels.RnnPointwiseBackward(hidden[..n], dHidden[..n], dPreActivation[..n], activation);
    }
}
