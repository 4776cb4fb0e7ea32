using System;

namespace SimdLstm.Testing.Reference;

/// <summary>
/// One direction of one layer (a unit) over the whole batch, the building block <see cref="RecurrentReference"/> stacks.
/// It owns the order of time and the per-stream lengths, and leaves the arithmetic of one step to the cell
/// (<see cref="LstmReference"/>, <see cref="GruReference"/>, <see cref="RnnReference"/>):
/// <list type="bullet">
/// <item>direction 0 runs stream b through t = 0, 1, …, len_b − 1, starting from the unit's h0 (and c0);</item>
/// <item>direction 1 runs it through t = len_b − 1, …, 1, 0, starting from h0 at t = len_b − 1;</item>
/// <item>positions t ≥ len_b are never read nor written, so they stay zero in every saved buffer;</item>
/// <item>h_n (c_n) is each stream's state after its own last step.</item>
/// </list>
/// Backward visits the same steps in the opposite order, carrying dL/dh (and dL/dc) from each step to the one
/// before it, starting from dh_n (dc_n) at each stream's last step.
/// </summary>
internal static class DirectionReference
{
    /// <summary>Runs unit (<paramref name="layer"/>, <paramref name="direction"/>) over x [T, B, I_l], filling its buffers of <paramref name="f"/> and its rows of h_n, c_n.</summary>
    public static void Forward(ReferenceWeights p, int layer, int direction, double[] x, RecurrentForward f, ReferenceFault faults)
    {
        int u = p.Unit(layer, direction), T = f.Steps, B = f.BatchSize, I = p.LayerInputSize(layer);
        int H = p.HiddenSize, Hs = p.HiddenStateSize, G = p.GateCount;
        bool lstm = p.Cell == CellKind.Lstm;
        f.PreGates[u] = new double[T * B * G * H];
        f.Hidden[u] = new double[T * B * Hs];
        f.Gates[u] = p.Cell == CellKind.Rnn ? f.Hidden[u] : new double[T * B * G * H];
        if (lstm) f.Cell[u] = new double[T * B * H];
        if (lstm && p.ProjectionSize > 0) f.Unprojected[u] = new double[T * B * H];
        if (p.Cell == CellKind.Gru) f.RecurrentProjection[u] = new double[T * B * G * H];

        double[] h = f.H0.AsSpan(u * B * Hs, B * Hs).ToArray();           // [B, H'], each stream's h_{t-1}
        double[] c = lstm ? f.C0.AsSpan(u * B * H, B * H).ToArray() : []; // [B, H], each stream's c_{t-1}
        for (int s = 0; s < T; s++)
        {
            int t = direction == 0 ? s : T - 1 - s;
            for (int b = 0; b < B; b++)
            {
                if (t >= f.Lengths[b])
                    continue;
                int row = t * B + b;
                ReadOnlySpan<double> xt = x.AsSpan(row * I, I), hPrev = h.AsSpan(b * Hs, Hs);
                switch (p.Cell)
                {
                    case CellKind.Lstm:
                        LstmReference.Step(p, u, xt, hPrev, c.AsSpan(b * H, H), f, row);
                        Array.Copy(f.Cell[u], row * H, c, b * H, H);
                        break;
                    case CellKind.Gru:
                        GruReference.Step(p, u, xt, hPrev, f, row, faults);
                        break;
                    default:
                        RnnReference.Step(p, u, xt, hPrev, f, row);
                        break;
                }
                Array.Copy(f.Hidden[u], row * Hs, h, b * Hs, Hs); // h_t becomes the next step's h_{t-1}
            }
        }
        h.CopyTo(f.HN, u * B * Hs);
        if (lstm) c.CopyTo(f.CN, u * B * H);
    }

    /// <summary>
    /// Backpropagation through time of one unit. <paramref name="dY"/> [T, B, D·H'] is the gradient of the layer's output
    /// (this unit reads its own H' columns at the steps it ran); <paramref name="dX"/> [T, B, I_l] is ACCUMULATED (both
    /// directions add to it), the parameter gradients too; the unit's rows of <paramref name="dH0"/> and
    /// <paramref name="dC0"/> are written.
    /// </summary>
    public static void Backward(
        ReferenceWeights g, int layer, int direction, RecurrentForward f, double[] dY, double[]? dHN, double[]? dCN,
        double[] dX, double[] dH0, double[] dC0, ReferenceFault faults)
    {
        ReferenceWeights p = f.Parameters;
        int u = p.Unit(layer, direction), T = f.Steps, B = f.BatchSize, I = p.LayerInputSize(layer);
        int H = p.HiddenSize, Hs = p.HiddenStateSize, D = p.Directions;
        bool lstm = p.Cell == CellKind.Lstm;
        double[] x = f.LayerInput[layer], hidden = f.Hidden[u];

        var dhNext = new double[B * Hs];             // [B, H'], dL/dh_t carried back from the step after t (in this direction's order)
        var dcNext = new double[lstm ? B * H : 0];   // [B, H], dL/dc_t likewise
        if (dHN is not null) Array.Copy(dHN, u * B * Hs, dhNext, 0, B * Hs);
        if (lstm && dCN is not null) Array.Copy(dCN, u * B * H, dcNext, 0, B * H);
        var dh = new double[Hs];                     // the whole dL/dh_t of one step
        var dc = new double[lstm ? H : 0];           // the carried dL/dc_t of one step

        for (int s = 0; s < T; s++)
        {
            int t = direction == 0 ? T - 1 - s : s;
            if (faults.HasFlag(ReferenceFault.BiasGradientOverwrittenPerStep) && p.HasBias)
            {
                Array.Clear(g.BiasIh[u]);
                Array.Clear(g.BiasHh[u]);
            }
            for (int b = 0; b < B; b++)
            {
                if (t >= f.Lengths[b])
                    continue;
                int row = t * B + b;
                for (int k = 0; k < Hs; k++)
                {
                    dh[k] = dY[row * D * Hs + direction * Hs + k]
                        + (faults.HasFlag(ReferenceFault.DropDhFromNextStep) ? 0 : dhNext[b * Hs + k]);
                }
                for (int k = 0; k < dc.Length; k++)
                    dc[k] = faults.HasFlag(ReferenceFault.DropDcFromNextStep) ? 0 : dcNext[b * H + k];

                // The step before t in this direction's order: t − 1 forward, t + 1 in reverse; the initial state at the first.
                int previous = direction == 0 ? t - 1 : t + 1;
                bool first = previous < 0 || previous >= f.Lengths[b];
                int previousRow = previous * B + b;
                ReadOnlySpan<double> hPrev = first ? f.H0.AsSpan((u * B + b) * Hs, Hs) : hidden.AsSpan(previousRow * Hs, Hs);
                ReadOnlySpan<double> xt = x.AsSpan(row * I, I);
                Span<double> dxt = dX.AsSpan(row * I, I), dhPrev = dhNext.AsSpan(b * Hs, Hs);
                switch (p.Cell)
                {
                    case CellKind.Lstm:
                        ReadOnlySpan<double> cPrev = first ? f.C0.AsSpan((u * B + b) * H, H) : f.Cell[u].AsSpan(previousRow * H, H);
                        LstmReference.StepBackward(p, g, u, f, row, xt, hPrev, cPrev, dh, dc, dxt, dhPrev, dcNext.AsSpan(b * H, H), faults);
                        break;
                    case CellKind.Gru:
                        GruReference.StepBackward(p, g, u, f, row, xt, hPrev, dh, dxt, dhPrev, faults);
                        break;
                    default:
                        RnnReference.StepBackward(p, g, u, f, row, xt, hPrev, dh, dxt, dhPrev, faults);
                        break;
                }
            }
        }
        Array.Copy(dhNext, 0, dH0, u * B * Hs, B * Hs);
        if (lstm) Array.Copy(dcNext, 0, dC0, u * B * H, B * H);
    }
}
