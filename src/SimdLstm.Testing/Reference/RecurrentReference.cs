using System;

namespace SimdLstm.Testing.Reference;

/// <summary>
/// The stacked network of <see cref="LstmReference"/>, <see cref="GruReference"/> or <see cref="RnnReference"/> cells
/// (according to the weights' <see cref="CellKind"/>), with PyTorch's semantics for everything around the cell:
/// <list type="bullet">
/// <item><b>Directions</b> (<c>bidirectional=True</c>): each layer runs a forward and a reverse unit with their own
/// weights (<see cref="DirectionReference"/>); the layer's output [T, B, 2H'] has the forward unit's h in its first H'
/// columns and the reverse unit's in the last H'. Layer k &gt; 0 reads layer k − 1's output. h_n and c_n are
/// [L·D, B, ·] with row l·D + d.</item>
/// <item><b>Lengths</b> (<c>pack_padded_sequence</c>, ONNX <c>sequence_lens</c>): stream b runs t = 0..len_b − 1 only,
/// the reverse unit from t = len_b − 1 down to 0. Its output is zero at t ≥ len_b, its h_n the state at its own last
/// step; its padded inputs and output gradients are never read.</item>
/// <item><b>Projection</b> (<c>proj_size</c>, LSTM): h is W_hr (o ⊙ tanh c), P wide; c stays H wide.</item>
/// <item><b>Dropout</b> between layers (training): layer l &lt; L − 1's output is multiplied by a fixed, already scaled
/// mask (0 or 1/(1 − p)) before layer l + 1 reads it; backward multiplies the gradient by the same mask.</item>
/// </list>
/// </summary>
public static class RecurrentReference
{
    /// <summary>
    /// Forward over input [T, B, I] (time-major); h0 [L·D, B, H'] and c0 [L·D, B, H] default to zeros (c0 ignored by a GRU
    /// or an RNN). <paramref name="lengths"/> [B] holds each stream's steps in 1..T (any order; null: all T).
    /// <paramref name="dropoutMasks"/>[l], l = 0..L − 2, holds T·B·D·H' scaled mask values multiplied into layer l's
    /// output [T, B, D·H'] (null: no dropout). Returns <see cref="RecurrentForward.Output"/> [T, B, D·H'],
    /// <see cref="RecurrentForward.HN"/> [L·D, B, H'] and <see cref="RecurrentForward.CN"/> [L·D, B, H] (LSTM).
    /// </summary>
    public static RecurrentForward Forward(
        ReferenceWeights p, double[] input, int steps, int batchSize, double[]? h0 = null, double[]? c0 = null, ReferenceFault faults = ReferenceFault.None,
        int[]? lengths = null, double[][]? dropoutMasks = null)
    {
        ArgumentNullException.ThrowIfNull(p);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        int T = steps, B = batchSize, L = p.Layers, D = p.Directions;
        ReferenceMath.CheckLength(input, T * B * p.InputSize, "[T, B, I]", nameof(input));
        CheckLengths(lengths, T, B);
        CheckMasks(dropoutMasks, p, T, B);
        var f = new RecurrentForward(p, T, B, lengths, dropoutMasks)
        {
            H0 = ReferenceMath.InitialState(h0, p.Units * B * p.HiddenStateSize, "[L·D, B, H']", nameof(h0), faults),
            C0 = p.Cell == CellKind.Lstm ? ReferenceMath.InitialState(c0, p.Units * B * p.HiddenSize, "[L·D, B, H]", nameof(c0), faults) : [],
        };

        double[] x = input; // [T, B, I_l]
        int Hs = p.HiddenStateSize, width = D * Hs;
        for (int l = 0; l < L; l++)
        {
            f.LayerInput[l] = x;
            for (int d = 0; d < D; d++)
                DirectionReference.Forward(p, l, d, x, f, faults);

            var y = new double[T * B * width]; // [T, B, D·H'], the directions side by side
            for (int row = 0; row < T * B; row++)
                for (int d = 0; d < D; d++)
                    Array.Copy(f.Hidden[p.Unit(l, d)], row * Hs, y, row * width + d * Hs, Hs);
            if (l < L - 1 && f.DropoutMasks is not null)
            {
                double[] mask = f.DropoutMasks[l];
                for (int k = 0; k < y.Length; k++)
                    y[k] *= mask[k];
            }
            x = y; // the next layer's input, or the output
        }

        f.Output = x;
        return f;
    }

    /// <summary>
    /// BPTT over the pass <paramref name="f"/>, with its lengths and dropout masks. <paramref name="dOutput"/> is
    /// [T, B, D·H'] (read only where a stream ran); <paramref name="dHN"/> [L·D, B, H'] and <paramref name="dCN"/>
    /// [L·D, B, H] default to zeros. Parameter gradients are ACCUMULATED into <paramref name="gradients"/> (the caller
    /// zeroes it); <paramref name="dInput"/> [T, B, I] (zero at padded positions), <paramref name="dH0"/> [L·D, B, H'] and
    /// <paramref name="dC0"/> [L·D, B, H] are written (dCN ignored and dC0 left untouched by a GRU or an RNN, which have
    /// no cell state).
    /// </summary>
    public static void Backward(
        RecurrentForward f, double[] dOutput, double[]? dHN, double[]? dCN,
        ReferenceWeights gradients, double[] dInput, double[] dH0, double[] dC0, ReferenceFault faults = ReferenceFault.None)
    {
        ArgumentNullException.ThrowIfNull(f);
        ArgumentNullException.ThrowIfNull(gradients);
        ReferenceWeights p = f.Parameters;
        int T = f.Steps, B = f.BatchSize, L = p.Layers, D = p.Directions;
        int hLength = p.Units * B * p.HiddenStateSize, cLength = p.Units * B * p.HiddenSize;
        bool lstm = p.Cell == CellKind.Lstm;
        if (!SameLayout(p, gradients))
            throw new ArgumentException("Expected gradient buffers of the forward pass's layout (cell, sizes, layers, bias, directions, projection).", nameof(gradients));
        ReferenceMath.CheckLength(dOutput, T * B * p.OutputSize, "[T, B, D·H']", nameof(dOutput));
        ReferenceMath.CheckLength(dInput, T * B * p.InputSize, "[T, B, I]", nameof(dInput));
        ReferenceMath.CheckLength(dH0, hLength, "[L·D, B, H']", nameof(dH0));
        if (lstm) ReferenceMath.CheckLength(dC0, cLength, "[L·D, B, H]", nameof(dC0));
        if (dHN is not null) ReferenceMath.CheckLength(dHN, hLength, "[L·D, B, H']", nameof(dHN));
        if (lstm && dCN is not null) ReferenceMath.CheckLength(dCN, cLength, "[L·D, B, H]", nameof(dCN));

        double[] dY = dOutput; // [T, B, D·H'], the gradient reaching layer l's output
        for (int l = L - 1; l >= 0; l--)
        {
            double[] dX = l == 0 ? dInput : new double[T * B * p.LayerInputSize(l)]; // [T, B, I_l]
            Array.Clear(dX);
            for (int d = 0; d < D; d++)
                DirectionReference.Backward(gradients, l, d, f, dY, dHN, dCN, dX, dH0, dC0, faults);
            if (l > 0 && f.DropoutMasks is not null)
            {
                double[] mask = f.DropoutMasks[l - 1]; // layer l read layer l − 1's output times this mask
                for (int k = 0; k < dX.Length; k++)
                    dX[k] *= mask[k];
            }
            dY = dX; // layer l's input is layer l − 1's (masked) output
        }
    }

    private static bool SameLayout(ReferenceWeights a, ReferenceWeights b) =>
        a.Cell == b.Cell && a.InputSize == b.InputSize && a.HiddenSize == b.HiddenSize && a.Layers == b.Layers
        && a.HasBias == b.HasBias && a.Bidirectional == b.Bidirectional && a.ProjectionSize == b.ProjectionSize;

    private static void CheckLengths(int[]? lengths, int steps, int batchSize)
    {
        if (lengths is null)
            return;
        if (lengths.Length != batchSize)
            throw new ArgumentException($"Expected [B] = {batchSize} lengths but got {lengths.Length}.", nameof(lengths));
        foreach (int length in lengths)
        {
            if (length < 1 || length > steps)
                throw new ArgumentOutOfRangeException(nameof(lengths), length, $"Expected every length in [1, {steps}].");
        }
    }

    private static void CheckMasks(double[][]? masks, ReferenceWeights p, int steps, int batchSize)
    {
        if (masks is null)
            return;
        if (masks.Length != p.Layers - 1)
            throw new ArgumentException($"Expected L − 1 = {p.Layers - 1} dropout masks (one per layer but the last) but got {masks.Length}.", "dropoutMasks");
        for (int l = 0; l < masks.Length; l++)
            ReferenceMath.CheckLength(masks[l], steps * batchSize * p.OutputSize, $"mask {l} [T, B, D·H']", "dropoutMasks");
    }
}
