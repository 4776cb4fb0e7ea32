using System;

namespace SimdLstm.Testing.Reference;

/// <summary>
/// A vanilla (Elman) RNN in plain double precision; PyTorch's nn.RNN semantics and layout. One step of one stream of
/// one (layer, direction) unit:
/// <code>
/// z   = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh   // [H]
/// h_t = act(z)                                   // act = tanh or relu
/// </code>
/// <see cref="RecurrentReference"/> runs the stack; <see cref="Forward"/> and <see cref="Backward"/> are that stack for RNN weights.
/// </summary>
public static class RnnReference
{
    /// <summary>Runs the whole sequence: <see cref="RecurrentReference.Forward"/> for RNN weights. <paramref name="h0"/> [L·D, B, H] defaults to zeros.</summary>
    public static RecurrentForward Forward(
        ReferenceWeights p, double[] input, int steps, int batchSize, double[]? h0 = null, ReferenceFault faults = ReferenceFault.None,
        int[]? lengths = null, double[][]? dropoutMasks = null)
    {
        ArgumentNullException.ThrowIfNull(p);
        if (p.Cell != CellKind.Rnn)
            throw new ArgumentException($"Expected RNN parameters but got {p.Cell}.", nameof(p));
        return RecurrentReference.Forward(p, input, steps, batchSize, h0, null, faults, lengths, dropoutMasks);
    }

    /// <summary>
    /// Backpropagation through time: <see cref="RecurrentReference.Backward"/> for an RNN forward pass. Parameter gradients
    /// are ACCUMULATED into <paramref name="gradients"/>; <paramref name="dInput"/> and <paramref name="dH0"/> are written.
    /// The ReLU derivative is taken as 1 where h &gt; 0 and 0 elsewhere (0 at the kink z = 0, as PyTorch).
    /// </summary>
    public static void Backward(
        RecurrentForward f, double[] dOutput, double[]? dHN, ReferenceWeights gradients, double[] dInput, double[] dH0,
        ReferenceFault faults = ReferenceFault.None)
    {
        ArgumentNullException.ThrowIfNull(f);
        if (f.Parameters.Cell != CellKind.Rnn)
            throw new ArgumentException($"Expected an RNN forward pass but got {f.Parameters.Cell}.", nameof(f));
        RecurrentReference.Backward(f, dOutput, dHN, null, gradients, dInput, dH0, [], faults);
    }

    /// <summary>One step of one stream: reads x [I_l] and h_{t-1} [H]; writes the unit's saved tensors at <paramref name="row"/> = t·B + b.</summary>
    internal static void Step(ReferenceWeights p, int unit, ReadOnlySpan<double> x, ReadOnlySpan<double> hPrev, RecurrentForward f, int row)
    {
        int H = p.HiddenSize, I = x.Length;
        double[] wIh = p.WeightIh[unit], wHh = p.WeightHh[unit]; // [H, I_l], [H, H]
        Span<double> pre = f.PreGates[unit].AsSpan(row * H, H);
        Span<double> h = f.Hidden[unit].AsSpan(row * H, H); // also the unit's Gates
        for (int j = 0; j < H; j++)
        {
            double z = p.HasBias ? p.BiasIh[unit][j] + p.BiasHh[unit][j] : 0;
            for (int k = 0; k < I; k++)
                z += wIh[j * I + k] * x[k];
            for (int k = 0; k < H; k++)
                z += wHh[j * H + k] * hPrev[k];
            pre[j] = z;
        }
        for (int j = 0; j < H; j++)
            h[j] = p.Activation == RnnActivation.Relu ? Math.Max(pre[j], 0) : Math.Tanh(pre[j]);
    }

    /// <summary>
    /// The backward of <see cref="Step"/>: <paramref name="dh"/> [H] is the whole dL/dh_t. Accumulates the unit's
    /// parameter gradients and <paramref name="dx"/> [I_l]; writes <paramref name="dhPrev"/> [H].
    /// </summary>
    internal static void StepBackward(
        ReferenceWeights p, ReferenceWeights g, int unit, RecurrentForward f, int row,
        ReadOnlySpan<double> x, ReadOnlySpan<double> hPrev, ReadOnlySpan<double> dh, Span<double> dx, Span<double> dhPrev, ReferenceFault faults)
    {
        int H = p.HiddenSize, I = x.Length;
        ReadOnlySpan<double> pre = f.PreGates[unit].AsSpan(row * H, H), hidden = f.Hidden[unit].AsSpan(row * H, H);
        var dz = new double[H];
        for (int j = 0; j < H; j++)
        {
            double y = hidden[j], z = pre[j];
            double derivative = p.Activation == RnnActivation.Relu
                ? (y > 0 ? 1 : 0)
                : faults.HasFlag(ReferenceFault.TanhDerivativeOfPreActivation) ? 1 - z * z : 1 - y * y;
            dz[j] = dh[j] * derivative;
        }

        double[] wIh = p.WeightIh[unit], wHh = p.WeightHh[unit];
        double[] dWIh = g.WeightIh[unit], dWHh = g.WeightHh[unit], dBIh = g.BiasIh[unit], dBHh = g.BiasHh[unit];
        dhPrev.Clear();
        for (int r = 0; r < H; r++)
        {
            for (int k = 0; k < I; k++)
            {
                dWIh[r * I + k] += dz[r] * x[k];
                dx[k] += dz[r] * wIh[r * I + k];
            }
            for (int k = 0; k < H; k++)
            {
                dWHh[r * H + k] += dz[r] * hPrev[k];
                dhPrev[k] += dz[r] * wHh[r * H + k];
            }
            if (p.HasBias)
            {
                dBIh[r] += dz[r];
                dBHh[r] += dz[r];
            }
        }
    }
}
