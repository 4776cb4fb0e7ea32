using System;

namespace SimdLstm.Testing.Reference;

/// <summary>
/// A stacked vanilla (Elman) RNN in plain double precision; PyTorch's nn.RNN semantics and layout. For each layer,
/// step t and batch row b:
/// <code>
/// z   = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh   // [H]
/// h_t = act(z)                                   // act = tanh or relu
/// </code>
/// </summary>
public static class RnnReference
{
    /// <summary>Runs the whole sequence. <paramref name="h0"/> [L, B, H] defaults to zeros.</summary>
    public static RecurrentForward Forward(
        ReferenceWeights p, double[] input, int steps, int batchSize, double[]? h0 = null, ReferenceFault faults = ReferenceFault.None)
    {
        if (p.Cell != CellKind.Rnn)
            throw new ArgumentException($"Expected RNN parameters but got {p.Cell}.", nameof(p));
        int T = steps, B = batchSize, H = p.HiddenSize;
        ReferenceMath.CheckLength(input, T * B * p.InputSize, "[T, B, I]", nameof(input));
        var f = new RecurrentForward(p, T, B) { H0 = ReferenceMath.InitialState(h0, p.Layers * B * H, nameof(h0), faults) };

        double[] x = input; // [T, B, I_l]
        for (int l = 0; l < p.Layers; l++)
        {
            int I = p.LayerInputSize(l);
            double[] wIh = p.WeightIh[l], wHh = p.WeightHh[l]; // [H, I_l], [H, H]
            double[] pre = new double[T * B * H];              // [T, B, H]
            double[] hidden = new double[T * B * H];           // [T, B, H]
            double[] h = f.H0.AsSpan(l * B * H, B * H).ToArray(); // [B, H], h_{t-1}

            for (int t = 0; t < T; t++)
            {
                for (int b = 0; b < B; b++)
                {
                    int row = t * B + b;
                    for (int j = 0; j < H; j++)
                    {
                        double z = p.HasBias ? p.BiasIh[l][j] + p.BiasHh[l][j] : 0;
                        for (int k = 0; k < I; k++)
                            z += wIh[j * I + k] * x[row * I + k];
                        for (int k = 0; k < H; k++)
                            z += wHh[j * H + k] * h[b * H + k];
                        pre[row * H + j] = z;
                    }
                    for (int j = 0; j < H; j++)
                    {
                        double z = pre[row * H + j];
                        hidden[row * H + j] = p.Activation == RnnActivation.Relu ? Math.Max(z, 0) : Math.Tanh(z);
                        h[b * H + j] = hidden[row * H + j];
                    }
                }
            }

            f.LayerInput[l] = x;
            f.PreGates[l] = pre;
            f.Gates[l] = hidden;
            f.Cell[l] = [];
            f.Hidden[l] = hidden;
            h.CopyTo(f.HN, l * B * H);
            x = hidden;
        }

        f.Output = x;
        return f;
    }

    /// <summary>
    /// Backpropagation through time. Parameter gradients are ACCUMULATED into <paramref name="gradients"/>;
    /// <paramref name="dInput"/> [T, B, I] and <paramref name="dH0"/> [L, B, H] are written. <paramref name="dHN"/> defaults to zeros.
    /// The ReLU derivative is taken as 1 where h &gt; 0 and 0 elsewhere (0 at the kink z = 0, as PyTorch).
    /// </summary>
    public static void Backward(
        RecurrentForward f, double[] dOutput, double[]? dHN, ReferenceWeights gradients, double[] dInput, double[] dH0,
        ReferenceFault faults = ReferenceFault.None)
    {
        ReferenceWeights p = f.Parameters;
        int T = f.Steps, B = f.BatchSize, H = p.HiddenSize, L = p.Layers;
        ReferenceMath.CheckLength(dOutput, T * B * H, "[T, B, H]", nameof(dOutput));
        ReferenceMath.CheckLength(dInput, T * B * p.InputSize, "[T, B, I]", nameof(dInput));
        ReferenceMath.CheckLength(dH0, L * B * H, "[L, B, H]", nameof(dH0));
        if (dHN is not null) ReferenceMath.CheckLength(dHN, L * B * H, "[L, B, H]", nameof(dHN));

        double[] dLayerOutput = dOutput; // [T, B, H]
        for (int l = L - 1; l >= 0; l--)
        {
            int I = p.LayerInputSize(l);
            double[] x = f.LayerInput[l], pre = f.PreGates[l], hidden = f.Hidden[l];
            double[] wIh = p.WeightIh[l], wHh = p.WeightHh[l];
            double[] dWIh = gradients.WeightIh[l], dWHh = gradients.WeightHh[l], dBIh = gradients.BiasIh[l], dBHh = gradients.BiasHh[l];
            double[] dX = l == 0 ? dInput : new double[T * B * I]; // [T, B, I_l]
            Array.Clear(dX);

            var dhNext = new double[B * H]; // [B, H], dL/dh_t carried back from step t + 1
            if (dHN is not null) Array.Copy(dHN, l * B * H, dhNext, 0, B * H);
            var dz = new double[H]; // [H]

            for (int t = T - 1; t >= 0; t--)
            {
                if (faults.HasFlag(ReferenceFault.BiasGradientOverwrittenPerStep) && p.HasBias)
                {
                    Array.Clear(dBIh);
                    Array.Clear(dBHh);
                }
                var dhPrev = new double[B * H]; // [B, H]
                for (int b = 0; b < B; b++)
                {
                    int row = t * B + b;
                    for (int j = 0; j < H; j++)
                    {
                        double dh = dLayerOutput[row * H + j]
                            + (faults.HasFlag(ReferenceFault.DropDhFromNextStep) ? 0 : dhNext[b * H + j]);
                        double y = hidden[row * H + j], z = pre[row * H + j];
                        double derivative = p.Activation == RnnActivation.Relu
                            ? (y > 0 ? 1 : 0)
                            : faults.HasFlag(ReferenceFault.TanhDerivativeOfPreActivation) ? 1 - z * z : 1 - y * y;
                        dz[j] = dh * derivative;
                    }

                    double[] hPrevSource = t > 0 ? hidden : f.H0;
                    int hPrevOffset = t > 0 ? (row - B) * H : (l * B + b) * H;
                    for (int r = 0; r < H; r++)
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
            }

            Array.Copy(dhNext, 0, dH0, l * B * H, B * H);
            dLayerOutput = dX;
        }
    }
}
