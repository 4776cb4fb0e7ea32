using System;

namespace SimdLstm.Testing.Reference;

/// <summary>
/// An LSTM in plain double precision, written to be obviously right rather than fast; PyTorch's nn.LSTM semantics
/// and layout (time-major input, gate rows i, f, g, o). One step of one stream of one (layer, direction) unit:
/// <code>
/// z = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh            // [4H]
/// i = σ(z_i)   f = σ(z_f)   g = tanh(z_g)   o = σ(z_o)
/// c_t = f ⊙ c_{t-1} + i ⊙ g
/// m_t = o ⊙ tanh(c_t)
/// h_t = m_t, or W_hr m_t with a projection (proj_size P: W_hr [P, H], W_hh [4H, P], h [P], c [H])
/// </code>
/// where x_t is the input for layer 0 and layer l − 1's output above it. <see cref="RecurrentReference"/> runs the
/// stack (layers, directions, lengths, dropout); <see cref="Forward"/> and <see cref="Backward"/> are that stack for
/// LSTM weights.
/// </summary>
public static class LstmReference
{
    /// <summary>Runs the whole sequence: <see cref="RecurrentReference.Forward"/> for LSTM weights.</summary>
    public static RecurrentForward Forward(
        ReferenceWeights p, double[] input, int steps, int batchSize, double[]? h0 = null, double[]? c0 = null, ReferenceFault faults = ReferenceFault.None,
        int[]? lengths = null, double[][]? dropoutMasks = null)
    {
        ArgumentNullException.ThrowIfNull(p);
        if (p.Cell != CellKind.Lstm)
            throw new ArgumentException($"Expected LSTM parameters but got {p.Cell}.", nameof(p));
        return RecurrentReference.Forward(p, input, steps, batchSize, h0, c0, faults, lengths, dropoutMasks);
    }

    /// <summary>
    /// Backpropagation through time: <see cref="RecurrentReference.Backward"/> for an LSTM forward pass. Parameter
    /// gradients are ACCUMULATED into <paramref name="gradients"/> (the caller zeroes it); <paramref name="dInput"/>,
    /// <paramref name="dH0"/> and <paramref name="dC0"/> are written.
    /// </summary>
    public static void Backward(
        RecurrentForward f, double[] dOutput, double[]? dHN, double[]? dCN,
        ReferenceWeights gradients, double[] dInput, double[] dH0, double[] dC0, ReferenceFault faults = ReferenceFault.None)
    {
        ArgumentNullException.ThrowIfNull(f);
        if (f.Parameters.Cell != CellKind.Lstm)
            throw new ArgumentException($"Expected an LSTM forward pass but got {f.Parameters.Cell}.", nameof(f));
        RecurrentReference.Backward(f, dOutput, dHN, dCN, gradients, dInput, dH0, dC0, faults);
    }

    /// <summary>
    /// One step of one stream: reads x [I_l], h_{t-1} [H'] and c_{t-1} [H]; writes the unit's saved tensors at
    /// <paramref name="row"/> = t·B + b (pre-activations, gates, c_t, m_t with a projection, and h_t).
    /// </summary>
    internal static void Step(
        ReferenceWeights p, int unit, ReadOnlySpan<double> x, ReadOnlySpan<double> hPrev, ReadOnlySpan<double> cPrev, RecurrentForward f, int row)
    {
        int H = p.HiddenSize, Hs = p.HiddenStateSize, P = p.ProjectionSize, I = x.Length;
        double[] wIh = p.WeightIh[unit], wHh = p.WeightHh[unit]; // [4H, I_l], [4H, H']
        Span<double> pre = f.PreGates[unit].AsSpan(row * 4 * H, 4 * H);
        Span<double> gates = f.Gates[unit].AsSpan(row * 4 * H, 4 * H);
        Span<double> c = f.Cell[unit].AsSpan(row * H, H);
        Span<double> h = f.Hidden[unit].AsSpan(row * Hs, Hs);
        Span<double> m = P > 0 ? f.Unprojected[unit].AsSpan(row * H, H) : h; // o ⊙ tanh(c): h itself without a projection

        for (int r = 0; r < 4 * H; r++)
        {
            double z = p.HasBias ? p.BiasIh[unit][r] + p.BiasHh[unit][r] : 0;
            for (int k = 0; k < I; k++)
                z += wIh[r * I + k] * x[k];
            for (int k = 0; k < Hs; k++)
                z += wHh[r * Hs + k] * hPrev[k];
            pre[r] = z;
        }
        for (int j = 0; j < H; j++)
        {
            double ig = ReferenceMath.Sigmoid(pre[j]);
            double fg = ReferenceMath.Sigmoid(pre[H + j]);
            double gg = Math.Tanh(pre[2 * H + j]);
            double og = ReferenceMath.Sigmoid(pre[3 * H + j]);
            gates[j] = ig;
            gates[H + j] = fg;
            gates[2 * H + j] = gg;
            gates[3 * H + j] = og;
            c[j] = fg * cPrev[j] + ig * gg;
            m[j] = og * Math.Tanh(c[j]);
        }
        if (P > 0)
        {
            double[] wHr = p.WeightHr[unit]; // [P, H]
            for (int i = 0; i < P; i++)
            {
                double s = 0;
                for (int k = 0; k < H; k++)
                    s += wHr[i * H + k] * m[k];
                h[i] = s;
            }
        }
    }

    /// <summary>
    /// The backward of <see cref="Step"/>: <paramref name="dh"/> [H'] is the whole dL/dh_t (from above and from step
    /// t + 1), <paramref name="dc"/> [H] the dL/dc_t carried from step t + 1. Accumulates the unit's parameter gradients
    /// and <paramref name="dx"/> [I_l]; writes <paramref name="dhPrev"/> [H'] and <paramref name="dcPrev"/> [H].
    /// </summary>
    internal static void StepBackward(
        ReferenceWeights p, ReferenceWeights g, int unit, RecurrentForward f, int row,
        ReadOnlySpan<double> x, ReadOnlySpan<double> hPrev, ReadOnlySpan<double> cPrev, ReadOnlySpan<double> dh, ReadOnlySpan<double> dc,
        Span<double> dx, Span<double> dhPrev, Span<double> dcPrev, ReferenceFault faults)
    {
        int H = p.HiddenSize, Hs = p.HiddenStateSize, P = p.ProjectionSize, I = x.Length;
        bool tanhFault = faults.HasFlag(ReferenceFault.TanhDerivativeOfPreActivation);
        bool sigmoidFault = faults.HasFlag(ReferenceFault.SigmoidDerivativeOfPreActivation);
        ReadOnlySpan<double> pre = f.PreGates[unit].AsSpan(row * 4 * H, 4 * H);
        ReadOnlySpan<double> gates = f.Gates[unit].AsSpan(row * 4 * H, 4 * H);
        ReadOnlySpan<double> cell = f.Cell[unit].AsSpan(row * H, H);

        // dL/dm: through h = W_hr m with a projection (dW_hr += dh mᵀ), else dh itself.
        Span<double> dm = new double[H];
        if (P > 0)
        {
            ReadOnlySpan<double> m = f.Unprojected[unit].AsSpan(row * H, H);
            double[] wHr = p.WeightHr[unit], dWHr = g.WeightHr[unit]; // [P, H]
            for (int i = 0; i < P; i++)
            {
                for (int k = 0; k < H; k++)
                {
                    dm[k] += dh[i] * wHr[i * H + k];
                    dWHr[i * H + k] += dh[i] * m[k];
                }
            }
        }
        else
        {
            dh.CopyTo(dm);
        }

        var dz = new double[4 * H]; // dL/d(pre-activation)
        for (int j = 0; j < H; j++)
        {
            double ig = gates[j], fg = gates[H + j], gg = gates[2 * H + j], og = gates[3 * H + j];
            double c = cell[j], tanhC = Math.Tanh(c);
            double dTanhC = tanhFault ? 1 - c * c : 1 - tanhC * tanhC;
            double dcTotal = dc[j] + dm[j] * og * dTanhC;

            double dO = dm[j] * tanhC;
            double dI = dcTotal * gg;
            double dG = dcTotal * ig;
            double dF = dcTotal * cPrev[j];
            dcPrev[j] = dcTotal * fg;

            // σ'(z) = s(1 − s) and tanh'(z) = 1 − y², from the saved activations s, y (or, under a fault, of z).
            dz[j] = dI * SigmoidDerivative(ig, pre[j], sigmoidFault);
            dz[H + j] = dF * SigmoidDerivative(fg, pre[H + j], sigmoidFault);
            dz[2 * H + j] = dG * (tanhFault ? 1 - pre[2 * H + j] * pre[2 * H + j] : 1 - gg * gg);
            dz[3 * H + j] = dO * SigmoidDerivative(og, pre[3 * H + j], sigmoidFault);
        }

        double[] wIh = p.WeightIh[unit], wHh = p.WeightHh[unit];
        double[] dWIh = g.WeightIh[unit], dWHh = g.WeightHh[unit], dBIh = g.BiasIh[unit], dBHh = g.BiasHh[unit];
        dhPrev.Clear();
        for (int r = 0; r < 4 * H; r++)
        {
            for (int k = 0; k < I; k++)
            {
                dWIh[r * I + k] += dz[r] * x[k];
                dx[k] += dz[r] * wIh[r * I + k];
            }
            for (int k = 0; k < Hs; k++)
            {
                dWHh[r * Hs + k] += dz[r] * hPrev[k];
                dhPrev[k] += dz[r] * wHh[r * Hs + k];
            }
            if (p.HasBias)
            {
                dBIh[r] += dz[r];
                dBHh[r] += dz[r];
            }
        }
    }

    private static double SigmoidDerivative(double s, double z, bool fault) => fault ? z * (1 - z) : s * (1 - s);
}
