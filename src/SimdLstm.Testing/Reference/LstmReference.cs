using System;

namespace SimdLstm.Testing.Reference;

/// <summary>
/// A stacked LSTM in plain double precision, written to be obviously right rather than fast; PyTorch's nn.LSTM
/// semantics and layout (time-major input, gate rows i, f, g, o). For each layer l, step t and batch row b:
/// <code>
/// z = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh            // [4H]
/// i = σ(z_i)   f = σ(z_f)   g = tanh(z_g)   o = σ(z_o)
/// c_t = f ⊙ c_{t-1} + i ⊙ g
/// h_t = o ⊙ tanh(c_t)
/// </code>
/// where x_t is the input for layer 0 and layer l − 1's h_t above it.
/// </summary>
public static class LstmReference
{
    /// <summary>Runs the whole sequence. <paramref name="h0"/>, <paramref name="c0"/> [L, B, H] default to zeros.</summary>
    public static RecurrentForward Forward(
        ReferenceWeights p, double[] input, int steps, int batchSize, double[]? h0 = null, double[]? c0 = null, ReferenceFault faults = ReferenceFault.None)
    {
        if (p.Cell != CellKind.Lstm)
            throw new ArgumentException($"Expected LSTM parameters but got {p.Cell}.", nameof(p));
        int T = steps, B = batchSize, H = p.HiddenSize;
        ReferenceMath.CheckLength(input, T * B * p.InputSize, "[T, B, I]", nameof(input));
        var f = new RecurrentForward(p, T, B)
        {
            H0 = ReferenceMath.InitialState(h0, p.Layers * B * H, nameof(h0), faults), // [L, B, H]
            C0 = ReferenceMath.InitialState(c0, p.Layers * B * H, nameof(c0), faults), // [L, B, H]
        };

        double[] x = input; // [T, B, I_l]
        for (int l = 0; l < p.Layers; l++)
        {
            int I = p.LayerInputSize(l);
            double[] wIh = p.WeightIh[l], wHh = p.WeightHh[l]; // [4H, I_l], [4H, H]
            double[] pre = new double[T * B * 4 * H];          // [T, B, 4H]
            double[] gates = new double[T * B * 4 * H];        // [T, B, 4H]
            double[] cell = new double[T * B * H];             // [T, B, H]
            double[] hidden = new double[T * B * H];           // [T, B, H]
            double[] h = f.H0.AsSpan(l * B * H, B * H).ToArray(); // [B, H], h_{t-1}
            double[] c = f.C0.AsSpan(l * B * H, B * H).ToArray(); // [B, H], c_{t-1}

            for (int t = 0; t < T; t++)
            {
                for (int b = 0; b < B; b++)
                {
                    int row = t * B + b;
                    for (int r = 0; r < 4 * H; r++)
                    {
                        double z = p.HasBias ? p.BiasIh[l][r] + p.BiasHh[l][r] : 0;
                        for (int k = 0; k < I; k++)
                            z += wIh[r * I + k] * x[row * I + k];
                        for (int k = 0; k < H; k++)
                            z += wHh[r * H + k] * h[b * H + k];
                        pre[row * 4 * H + r] = z;
                    }
                    for (int j = 0; j < H; j++)
                    {
                        int g0 = row * 4 * H;
                        double ig = ReferenceMath.Sigmoid(pre[g0 + j]);
                        double fg = ReferenceMath.Sigmoid(pre[g0 + H + j]);
                        double gg = Math.Tanh(pre[g0 + 2 * H + j]);
                        double og = ReferenceMath.Sigmoid(pre[g0 + 3 * H + j]);
                        gates[g0 + j] = ig;
                        gates[g0 + H + j] = fg;
                        gates[g0 + 2 * H + j] = gg;
                        gates[g0 + 3 * H + j] = og;
                        c[b * H + j] = fg * c[b * H + j] + ig * gg;
                        h[b * H + j] = og * Math.Tanh(c[b * H + j]);
                        cell[row * H + j] = c[b * H + j];
                        hidden[row * H + j] = h[b * H + j];
                    }
                }
            }

            f.LayerInput[l] = x;
            f.PreGates[l] = pre;
            f.Gates[l] = gates;
            f.Cell[l] = cell;
            f.Hidden[l] = hidden;
            h.CopyTo(f.HN, l * B * H);
            c.CopyTo(f.CN, l * B * H);
            x = hidden; // the next layer's input
        }

        f.Output = x;
        return f;
    }

    /// <summary>
    /// Backpropagation through time. Parameter gradients are ACCUMULATED into <paramref name="gradients"/> (the caller
    /// zeroes it); <paramref name="dInput"/> [T, B, I], <paramref name="dH0"/> and <paramref name="dC0"/> [L, B, H] are
    /// written. <paramref name="dOutput"/> is [T, B, H]; <paramref name="dHN"/>, <paramref name="dCN"/> [L, B, H] default to zeros.
    /// </summary>
    public static void Backward(
        RecurrentForward f, double[] dOutput, double[]? dHN, double[]? dCN,
        ReferenceWeights gradients, double[] dInput, double[] dH0, double[] dC0, ReferenceFault faults = ReferenceFault.None)
    {
        ReferenceWeights p = f.Parameters;
        int T = f.Steps, B = f.BatchSize, H = p.HiddenSize, L = p.Layers;
        ReferenceMath.CheckLength(dOutput, T * B * H, "[T, B, H]", nameof(dOutput));
        ReferenceMath.CheckLength(dInput, T * B * p.InputSize, "[T, B, I]", nameof(dInput));
        ReferenceMath.CheckLength(dH0, L * B * H, "[L, B, H]", nameof(dH0));
        ReferenceMath.CheckLength(dC0, L * B * H, "[L, B, H]", nameof(dC0));
        if (dHN is not null) ReferenceMath.CheckLength(dHN, L * B * H, "[L, B, H]", nameof(dHN));
        if (dCN is not null) ReferenceMath.CheckLength(dCN, L * B * H, "[L, B, H]", nameof(dCN));
        bool tanhFault = faults.HasFlag(ReferenceFault.TanhDerivativeOfPreActivation);
        bool sigmoidFault = faults.HasFlag(ReferenceFault.SigmoidDerivativeOfPreActivation);

        double[] dLayerOutput = dOutput; // [T, B, H], gradient reaching this layer's h_t from above
        for (int l = L - 1; l >= 0; l--)
        {
            int I = p.LayerInputSize(l);
            double[] x = f.LayerInput[l], pre = f.PreGates[l], gates = f.Gates[l], cell = f.Cell[l], hidden = f.Hidden[l];
            double[] wIh = p.WeightIh[l], wHh = p.WeightHh[l];
            double[] dWIh = gradients.WeightIh[l], dWHh = gradients.WeightHh[l], dBIh = gradients.BiasIh[l], dBHh = gradients.BiasHh[l];
            double[] dX = l == 0 ? dInput : new double[T * B * I]; // [T, B, I_l]
            Array.Clear(dX);

            var dhNext = new double[B * H]; // [B, H], dL/dh_t carried back from step t + 1
            var dcNext = new double[B * H]; // [B, H], dL/dc_t carried back from step t + 1
            if (dHN is not null) Array.Copy(dHN, l * B * H, dhNext, 0, B * H);
            if (dCN is not null) Array.Copy(dCN, l * B * H, dcNext, 0, B * H);
            var dz = new double[4 * H]; // [4H], dL/d(pre-activation) of one (t, b)

            for (int t = T - 1; t >= 0; t--)
            {
                if (faults.HasFlag(ReferenceFault.BiasGradientOverwrittenPerStep) && p.HasBias)
                {
                    Array.Clear(dBIh);
                    Array.Clear(dBHh);
                }
                var dhPrev = new double[B * H]; // [B, H], dL/dh_{t-1}
                var dcPrev = new double[B * H]; // [B, H], dL/dc_{t-1}
                for (int b = 0; b < B; b++)
                {
                    int row = t * B + b, g0 = row * 4 * H;
                    for (int j = 0; j < H; j++)
                    {
                        double ig = gates[g0 + j], fg = gates[g0 + H + j], gg = gates[g0 + 2 * H + j], og = gates[g0 + 3 * H + j];
                        double c = cell[row * H + j];
                        double cPrev = t > 0 ? cell[(row - B) * H + j] : f.C0[(l * B + b) * H + j];
                        double tanhC = Math.Tanh(c);

                        double dh = dLayerOutput[row * H + j]
                            + (faults.HasFlag(ReferenceFault.DropDhFromNextStep) ? 0 : dhNext[b * H + j]);
                        double dTanhC = tanhFault ? 1 - c * c : 1 - tanhC * tanhC;
                        double dc = (faults.HasFlag(ReferenceFault.DropDcFromNextStep) ? 0 : dcNext[b * H + j])
                            + dh * og * dTanhC;

                        double dO = dh * tanhC;
                        double dI = dc * gg;
                        double dG = dc * ig;
                        double dF = dc * cPrev;
                        dcPrev[b * H + j] = dc * fg;

                        // σ'(z) = s(1 − s) and tanh'(z) = 1 − y², from the saved activations s, y (or, under a fault, of z).
                        dz[j] = dI * SigmoidDerivative(ig, pre[g0 + j], sigmoidFault);
                        dz[H + j] = dF * SigmoidDerivative(fg, pre[g0 + H + j], sigmoidFault);
                        dz[2 * H + j] = dG * (tanhFault ? 1 - pre[g0 + 2 * H + j] * pre[g0 + 2 * H + j] : 1 - gg * gg);
                        dz[3 * H + j] = dO * SigmoidDerivative(og, pre[g0 + 3 * H + j], sigmoidFault);
                    }

                    double[] hPrevSource = t > 0 ? hidden : f.H0;
                    int hPrevOffset = t > 0 ? (row - B) * H : (l * B + b) * H;
                    for (int r = 0; r < 4 * H; r++)
                    {
                        for (int k = 0; k < I; k++)
                        {
                            dWIh[r * I + k] += dz[r] * x[row * I + k];
                            dX[row * I + k] += dz[r] * wIh[r * I + k];
                        }
                        for (int k = 0; k < H; k++)
                        {
                            dWHh[r * H + k] += dz[r] * hPrevSource[hPrevOffset + k];
                            dhPrev[b * H + k] += dz[r] * wHh[r * H + k];
                        }
                        if (p.HasBias)
                        {
                            dBIh[r] += dz[r];
                            dBHh[r] += dz[r];
                        }
                    }
                }
                dhNext = dhPrev;
                dcNext = dcPrev;
            }

            Array.Copy(dhNext, 0, dH0, l * B * H, B * H);
            Array.Copy(dcNext, 0, dC0, l * B * H, B * H);
            dLayerOutput = dX; // layer l's input is layer l − 1's output
        }
    }

    private static double SigmoidDerivative(double s, double z, bool fault) => fault ? z * (1 - z) : s * (1 - s);
}
