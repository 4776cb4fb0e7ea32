using System;

namespace SimdLstm.Testing.Reference;

/// <summary>
/// A GRU in plain double precision; PyTorch's nn.GRU semantics and layout (time-major input, gate rows r, z, n).
/// One step of one stream of one (layer, direction) unit:
/// <code>
/// a = W_ih x_t + b_ih                                  // [3H], the input projection
/// u = W_hh h_{t-1} + b_hh                              // [3H], the recurrent projection
/// r = σ(a_r + u_r)   z = σ(a_z + u_z)   n = tanh(a_n + r ⊙ u_n)
/// h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}
/// </code>
/// where x_t is the input for layer 0 and layer l − 1's output above it. Unlike the LSTM and RNN the two projections
/// cannot be summed up front: r multiplies the recurrent part of n alone, so u is kept (<see cref="RecurrentForward.RecurrentProjection"/>).
/// <see cref="RecurrentReference"/> runs the stack; <see cref="Forward"/> and <see cref="Backward"/> are that stack for GRU weights.
/// </summary>
public static class GruReference
{
    /// <summary>Runs the whole sequence: <see cref="RecurrentReference.Forward"/> for GRU weights. <paramref name="h0"/> [L·D, B, H] defaults to zeros.</summary>
    public static RecurrentForward Forward(
        ReferenceWeights p, double[] input, int steps, int batchSize, double[]? h0 = null, ReferenceFault faults = ReferenceFault.None,
        int[]? lengths = null, double[][]? dropoutMasks = null)
    {
        ArgumentNullException.ThrowIfNull(p);
        if (p.Cell != CellKind.Gru)
            throw new ArgumentException($"Expected GRU parameters but got {p.Cell}.", nameof(p));
        return RecurrentReference.Forward(p, input, steps, batchSize, h0, null, faults, lengths, dropoutMasks);
    }

    /// <summary>
    /// Backpropagation through time: <see cref="RecurrentReference.Backward"/> for a GRU forward pass. Parameter gradients
    /// are ACCUMULATED into <paramref name="gradients"/> (the caller zeroes it); <paramref name="dInput"/> and
    /// <paramref name="dH0"/> are written.
    /// </summary>
    public static void Backward(
        RecurrentForward f, double[] dOutput, double[]? dHN, ReferenceWeights gradients, double[] dInput, double[] dH0,
        ReferenceFault faults = ReferenceFault.None)
    {
        ArgumentNullException.ThrowIfNull(f);
        if (f.Parameters.Cell != CellKind.Gru)
            throw new ArgumentException($"Expected a GRU forward pass but got {f.Parameters.Cell}.", nameof(f));
        RecurrentReference.Backward(f, dOutput, dHN, null, gradients, dInput, dH0, [], faults);
    }

    /// <summary>One step of one stream: reads x [I_l] and h_{t-1} [H]; writes the unit's saved tensors at <paramref name="row"/> = t·B + b.</summary>
    internal static void Step(ReferenceWeights p, int unit, ReadOnlySpan<double> x, ReadOnlySpan<double> hPrev, RecurrentForward f, int row, ReferenceFault faults)
    {
        int H = p.HiddenSize, I = x.Length;
        bool resetOnInput = faults.HasFlag(ReferenceFault.ResetGateOnInputSide);
        bool swapped = faults.HasFlag(ReferenceFault.UpdateGateSwapped);
        double[] wIh = p.WeightIh[unit], wHh = p.WeightHh[unit]; // [3H, I_l], [3H, H]
        Span<double> pre = f.PreGates[unit].AsSpan(row * 3 * H, 3 * H);             // arguments of σ, σ, tanh
        Span<double> gates = f.Gates[unit].AsSpan(row * 3 * H, 3 * H);              // r, z, n
        Span<double> recurrent = f.RecurrentProjection[unit].AsSpan(row * 3 * H, 3 * H); // u
        Span<double> h = f.Hidden[unit].AsSpan(row * H, H);
        var a = new double[3 * H]; // W_ih x_t + b_ih

        for (int r = 0; r < 3 * H; r++)
        {
            a[r] = InputProjection(p, unit, x, r);
            double ui = p.HasBias ? p.BiasHh[unit][r] : 0;
            for (int k = 0; k < H; k++)
                ui += wHh[r * H + k] * hPrev[k];
            recurrent[r] = ui;
        }
        for (int j = 0; j < H; j++)
        {
            double preR = a[j] + recurrent[j];
            double preZ = a[H + j] + recurrent[H + j];
            double rg = ReferenceMath.Sigmoid(preR);
            double zg = ReferenceMath.Sigmoid(preZ);
            double preN = resetOnInput
                ? rg * a[2 * H + j] + recurrent[2 * H + j]
                : a[2 * H + j] + rg * recurrent[2 * H + j];
            double ng = Math.Tanh(preN);
            pre[j] = preR;
            pre[H + j] = preZ;
            pre[2 * H + j] = preN;
            gates[j] = rg;
            gates[H + j] = zg;
            gates[2 * H + j] = ng;
            h[j] = swapped ? zg * ng + (1 - zg) * hPrev[j] : (1 - zg) * ng + zg * hPrev[j];
        }
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
        bool tanhFault = faults.HasFlag(ReferenceFault.TanhDerivativeOfPreActivation);
        bool sigmoidFault = faults.HasFlag(ReferenceFault.SigmoidDerivativeOfPreActivation);
        bool resetOnInput = faults.HasFlag(ReferenceFault.ResetGateOnInputSide);
        bool swapped = faults.HasFlag(ReferenceFault.UpdateGateSwapped);
        ReadOnlySpan<double> pre = f.PreGates[unit].AsSpan(row * 3 * H, 3 * H);
        ReadOnlySpan<double> gates = f.Gates[unit].AsSpan(row * 3 * H, 3 * H);
        ReadOnlySpan<double> recurrent = f.RecurrentProjection[unit].AsSpan(row * 3 * H, 3 * H);
        var da = new double[3 * H]; // dL/d(W_ih x + b_ih)
        var du = new double[3 * H]; // dL/d(W_hh h_{t-1} + b_hh)

        dhPrev.Clear();
        for (int j = 0; j < H; j++)
        {
            double rg = gates[j], zg = gates[H + j], ng = gates[2 * H + j];

            // h_t = (1 − z) n + z h_{t-1}: ∂/∂n = 1 − z, ∂/∂z = h_{t-1} − n, ∂/∂h_{t-1} (directly) = z.
            double dN = dh[j] * (swapped ? zg : 1 - zg);
            double dZ = dh[j] * (swapped ? ng - hPrev[j] : hPrev[j] - ng);
            if (!faults.HasFlag(ReferenceFault.DropDhThroughUpdateGate))
                dhPrev[j] += dh[j] * (swapped ? 1 - zg : zg);

            double preN = pre[2 * H + j];
            double dPreN = dN * (tanhFault ? 1 - preN * preN : 1 - ng * ng);
            // n = tanh(a_n + r u_n): ∂/∂a_n = 1, ∂/∂u_n = r, ∂/∂r = u_n (under the fault, a_n and u_n trade places).
            double dR;
            if (resetOnInput)
            {
                da[2 * H + j] = dPreN * rg;
                du[2 * H + j] = dPreN;
                dR = dPreN * InputProjection(p, unit, x, 2 * H + j);
            }
            else
            {
                da[2 * H + j] = dPreN;
                du[2 * H + j] = dPreN * rg;
                dR = dPreN * recurrent[2 * H + j];
            }

            // r and z see a + u whole, so both projections receive the same gradient.
            da[j] = du[j] = dR * SigmoidDerivative(rg, pre[j], sigmoidFault);
            da[H + j] = du[H + j] = dZ * SigmoidDerivative(zg, pre[H + j], sigmoidFault);
        }

        double[] wIh = p.WeightIh[unit], wHh = p.WeightHh[unit];
        double[] dWIh = g.WeightIh[unit], dWHh = g.WeightHh[unit], dBIh = g.BiasIh[unit], dBHh = g.BiasHh[unit];
        for (int r = 0; r < 3 * H; r++)
        {
            for (int k = 0; k < I; k++)
            {
                dWIh[r * I + k] += da[r] * x[k];
                dx[k] += da[r] * wIh[r * I + k];
            }
            for (int k = 0; k < H; k++)
            {
                dWHh[r * H + k] += du[r] * hPrev[k];
                dhPrev[k] += du[r] * wHh[r * H + k];
            }
            if (p.HasBias)
            {
                dBIh[r] += da[r];
                dBHh[r] += du[r];
            }
        }
    }

    private static double SigmoidDerivative(double s, double z, bool fault) => fault ? z * (1 - z) : s * (1 - s);

    // Row r of W_ih x + b_ih of one step.
    private static double InputProjection(ReferenceWeights p, int unit, ReadOnlySpan<double> x, int r)
    {
        int I = x.Length;
        double s = p.HasBias ? p.BiasIh[unit][r] : 0;
        for (int k = 0; k < I; k++)
            s += p.WeightIh[unit][r * I + k] * x[k];
        return s;
    }
}
