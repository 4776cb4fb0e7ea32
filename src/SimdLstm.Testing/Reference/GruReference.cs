using System;

namespace SimdLstm.Testing.Reference;

/// <summary>
/// A stacked GRU in plain double precision; PyTorch's nn.GRU semantics and layout (time-major input, gate rows r, z, n).
/// For each layer l, step t and batch row b:
/// <code>
/// a = W_ih x_t + b_ih                                  // [3H], the input projection
/// u = W_hh h_{t-1} + b_hh                              // [3H], the recurrent projection
/// r = σ(a_r + u_r)   z = σ(a_z + u_z)   n = tanh(a_n + r ⊙ u_n)
/// h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}
/// </code>
/// where x_t is the input for layer 0 and layer l − 1's h_t above it. Unlike the LSTM and RNN the two projections
/// cannot be summed up front: r multiplies the recurrent part of n alone, so u is kept (<see cref="RecurrentForward.RecurrentProjection"/>).
/// </summary>
public static class GruReference
{
    /// <summary>Runs the whole sequence. <paramref name="h0"/> [L, B, H] defaults to zeros.</summary>
    public static RecurrentForward Forward(
        ReferenceWeights p, double[] input, int steps, int batchSize, double[]? h0 = null, ReferenceFault faults = ReferenceFault.None)
    {
        if (p.Cell != CellKind.Gru)
            throw new ArgumentException($"Expected GRU parameters but got {p.Cell}.", nameof(p));
        int T = steps, B = batchSize, H = p.HiddenSize;
        ReferenceMath.CheckLength(input, T * B * p.InputSize, "[T, B, I]", nameof(input));
        var f = new RecurrentForward(p, T, B) { H0 = ReferenceMath.InitialState(h0, p.Layers * B * H, nameof(h0), faults) };
        bool resetOnInput = faults.HasFlag(ReferenceFault.ResetGateOnInputSide);
        bool swapped = faults.HasFlag(ReferenceFault.UpdateGateSwapped);

        double[] x = input; // [T, B, I_l]
        for (int l = 0; l < p.Layers; l++)
        {
            int I = p.LayerInputSize(l);
            double[] wIh = p.WeightIh[l], wHh = p.WeightHh[l]; // [3H, I_l], [3H, H]
            double[] pre = new double[T * B * 3 * H];          // [T, B, 3H], arguments of σ, σ, tanh
            double[] gates = new double[T * B * 3 * H];        // [T, B, 3H], r, z, n
            double[] recurrent = new double[T * B * 3 * H];    // [T, B, 3H], u = W_hh h_{t-1} + b_hh
            double[] hidden = new double[T * B * H];           // [T, B, H]
            double[] h = f.H0.AsSpan(l * B * H, B * H).ToArray(); // [B, H], h_{t-1}
            var a = new double[3 * H];                         // [3H], W_ih x_t + b_ih of one (t, b)

            for (int t = 0; t < T; t++)
            {
                for (int b = 0; b < B; b++)
                {
                    int row = t * B + b, g0 = row * 3 * H;
                    for (int r = 0; r < 3 * H; r++)
                    {
                        double ai = p.HasBias ? p.BiasIh[l][r] : 0;
                        for (int k = 0; k < I; k++)
                            ai += wIh[r * I + k] * x[row * I + k];
                        double ui = p.HasBias ? p.BiasHh[l][r] : 0;
                        for (int k = 0; k < H; k++)
                            ui += wHh[r * H + k] * h[b * H + k];
                        a[r] = ai;
                        recurrent[g0 + r] = ui;
                    }
                    for (int j = 0; j < H; j++)
                    {
                        double preR = a[j] + recurrent[g0 + j];
                        double preZ = a[H + j] + recurrent[g0 + H + j];
                        double rg = ReferenceMath.Sigmoid(preR);
                        double zg = ReferenceMath.Sigmoid(preZ);
                        double preN = resetOnInput
                            ? rg * a[2 * H + j] + recurrent[g0 + 2 * H + j]
                            : a[2 * H + j] + rg * recurrent[g0 + 2 * H + j];
                        double ng = Math.Tanh(preN);
                        pre[g0 + j] = preR;
                        pre[g0 + H + j] = preZ;
                        pre[g0 + 2 * H + j] = preN;
                        gates[g0 + j] = rg;
                        gates[g0 + H + j] = zg;
                        gates[g0 + 2 * H + j] = ng;
                        hidden[row * H + j] = swapped
                            ? zg * ng + (1 - zg) * h[b * H + j]
                            : (1 - zg) * ng + zg * h[b * H + j];
                    }
                    Array.Copy(hidden, row * H, h, b * H, H); // h_t becomes the next step's h_{t-1}
                }
            }

            f.LayerInput[l] = x;
            f.PreGates[l] = pre;
            f.Gates[l] = gates;
            f.RecurrentProjection[l] = recurrent;
            f.Cell[l] = [];
            f.Hidden[l] = hidden;
            h.CopyTo(f.HN, l * B * H);
            x = hidden; // the next layer's input
        }

        f.Output = x;
        return f;
    }

    /// <summary>
    /// Backpropagation through time. Parameter gradients are ACCUMULATED into <paramref name="gradients"/> (the caller
    /// zeroes it); <paramref name="dInput"/> [T, B, I] and <paramref name="dH0"/> [L, B, H] are written.
    /// <paramref name="dOutput"/> is [T, B, H]; <paramref name="dHN"/> [L, B, H] defaults to zeros.
    /// </summary>
    public static void Backward(
        RecurrentForward f, double[] dOutput, double[]? dHN, ReferenceWeights gradients, double[] dInput, double[] dH0,
        ReferenceFault faults = ReferenceFault.None)
    {
        ReferenceWeights p = f.Parameters;
        if (p.Cell != CellKind.Gru)
            throw new ArgumentException($"Expected a GRU forward pass but got {p.Cell}.", nameof(f));
        int T = f.Steps, B = f.BatchSize, H = p.HiddenSize, L = p.Layers;
        ReferenceMath.CheckLength(dOutput, T * B * H, "[T, B, H]", nameof(dOutput));
        ReferenceMath.CheckLength(dInput, T * B * p.InputSize, "[T, B, I]", nameof(dInput));
        ReferenceMath.CheckLength(dH0, L * B * H, "[L, B, H]", nameof(dH0));
        if (dHN is not null) ReferenceMath.CheckLength(dHN, L * B * H, "[L, B, H]", nameof(dHN));
        bool tanhFault = faults.HasFlag(ReferenceFault.TanhDerivativeOfPreActivation);
        bool sigmoidFault = faults.HasFlag(ReferenceFault.SigmoidDerivativeOfPreActivation);
        bool resetOnInput = faults.HasFlag(ReferenceFault.ResetGateOnInputSide);
        bool swapped = faults.HasFlag(ReferenceFault.UpdateGateSwapped);

        double[] dLayerOutput = dOutput; // [T, B, H], gradient reaching this layer's h_t from above
        for (int l = L - 1; l >= 0; l--)
        {
            int I = p.LayerInputSize(l);
            double[] x = f.LayerInput[l], pre = f.PreGates[l], gates = f.Gates[l], recurrent = f.RecurrentProjection[l], hidden = f.Hidden[l];
            double[] wIh = p.WeightIh[l], wHh = p.WeightHh[l];
            double[] dWIh = gradients.WeightIh[l], dWHh = gradients.WeightHh[l], dBIh = gradients.BiasIh[l], dBHh = gradients.BiasHh[l];
            double[] dX = l == 0 ? dInput : new double[T * B * I]; // [T, B, I_l]
            Array.Clear(dX);

            var dhNext = new double[B * H]; // [B, H], dL/dh_t carried back from step t + 1
            if (dHN is not null) Array.Copy(dHN, l * B * H, dhNext, 0, B * H);
            var da = new double[3 * H]; // [3H], dL/d(W_ih x + b_ih) of one (t, b)
            var du = new double[3 * H]; // [3H], dL/d(W_hh h_{t-1} + b_hh) of one (t, b)

            for (int t = T - 1; t >= 0; t--)
            {
                if (faults.HasFlag(ReferenceFault.BiasGradientOverwrittenPerStep) && p.HasBias)
                {
                    Array.Clear(dBIh);
                    Array.Clear(dBHh);
                }
                var dhPrev = new double[B * H]; // [B, H], dL/dh_{t-1}
                for (int b = 0; b < B; b++)
                {
                    int row = t * B + b, g0 = row * 3 * H;
                    double[] hPrevSource = t > 0 ? hidden : f.H0;
                    int hPrevOffset = t > 0 ? (row - B) * H : (l * B + b) * H;
                    for (int j = 0; j < H; j++)
                    {
                        double rg = gates[g0 + j], zg = gates[g0 + H + j], ng = gates[g0 + 2 * H + j];
                        double hPrev = hPrevSource[hPrevOffset + j];
                        double dh = dLayerOutput[row * H + j]
                            + (faults.HasFlag(ReferenceFault.DropDhFromNextStep) ? 0 : dhNext[b * H + j]);

                        // h_t = (1 − z) n + z h_{t-1}: ∂/∂n = 1 − z, ∂/∂z = h_{t-1} − n, ∂/∂h_{t-1} (directly) = z.
                        double dN = dh * (swapped ? zg : 1 - zg);
                        double dZ = dh * (swapped ? ng - hPrev : hPrev - ng);
                        if (!faults.HasFlag(ReferenceFault.DropDhThroughUpdateGate))
                            dhPrev[b * H + j] += dh * (swapped ? 1 - zg : zg);

                        double preN = pre[g0 + 2 * H + j];
                        double dPreN = dN * (tanhFault ? 1 - preN * preN : 1 - ng * ng);
                        // n = tanh(a_n + r u_n): ∂/∂a_n = 1, ∂/∂u_n = r, ∂/∂r = u_n (under the fault, a_n and u_n trade places).
                        double dR;
                        if (resetOnInput)
                        {
                            double aN = InputProjection(p, l, x, row, 2 * H + j);
                            da[2 * H + j] = dPreN * rg;
                            du[2 * H + j] = dPreN;
                            dR = dPreN * aN;
                        }
                        else
                        {
                            da[2 * H + j] = dPreN;
                            du[2 * H + j] = dPreN * rg;
                            dR = dPreN * recurrent[g0 + 2 * H + j];
                        }

                        // r and z see a + u whole, so both projections receive the same gradient.
                        da[j] = du[j] = dR * SigmoidDerivative(rg, pre[g0 + j], sigmoidFault);
                        da[H + j] = du[H + j] = dZ * SigmoidDerivative(zg, pre[g0 + H + j], sigmoidFault);
                    }

                    for (int r = 0; r < 3 * H; r++)
                    {
                        for (int k = 0; k < I; k++)
                        {
                            dWIh[r * I + k] += da[r] * x[row * I + k];
                            dX[row * I + k] += da[r] * wIh[r * I + k];
                        }
                        for (int k = 0; k < H; k++)
                        {
                            dWHh[r * H + k] += du[r] * hPrevSource[hPrevOffset + k];
                            dhPrev[b * H + k] += du[r] * wHh[r * H + k];
                        }
                        if (p.HasBias)
                        {
                            dBIh[r] += da[r];
                            dBHh[r] += du[r];
                        }
                    }
                }
                dhNext = dhPrev;
            }

            Array.Copy(dhNext, 0, dH0, l * B * H, B * H);
            dLayerOutput = dX; // layer l's input is layer l − 1's output
        }
    }

    private static double SigmoidDerivative(double s, double z, bool fault) => fault ? z * (1 - z) : s * (1 - s);

    // Row r of W_ih x + b_ih at one (t, b), recomputed: only the backward of ResetGateOnInputSide needs it, the correct
    // backward reads u_n alone.
    private static double InputProjection(ReferenceWeights p, int layer, double[] x, int row, int r)
    {
        int I = p.LayerInputSize(layer);
        double s = p.HasBias ? p.BiasIh[layer][r] : 0;
        for (int k = 0; k < I; k++)
            s += p.WeightIh[layer][r * I + k] * x[row * I + k];
        return s;
    }
}
