using System;

namespace SimdLstm.Testing.Reference;

/// <summary>
/// The result of a reference forward pass over a sequence, with everything backward needs. Arrays indexed
/// [unit][...] hold one time-major buffer per (layer, direction) unit u = layer · D + direction (the layer for a
/// unidirectional network); arrays indexed [layer][...] one per layer. Positions a stream never reached (t ≥ its
/// length) are zero in every saved buffer.
/// </summary>
public sealed class RecurrentForward
{
    /// <summary>Creates an empty result for <paramref name="steps"/> steps of <paramref name="batchSize"/> full-length streams without dropout; the forward pass fills it.</summary>
    /// <param name="parameters">The weights the pass runs with.</param>
    /// <param name="steps">T.</param>
    /// <param name="batchSize">B.</param>
    public RecurrentForward(ReferenceWeights parameters, int steps, int batchSize)
        : this(parameters, steps, batchSize, lengths: null, dropoutMasks: null)
    {
    }

    /// <summary>Creates an empty result with per-stream lengths and dropout masks (copied, not validated); the forward pass fills it.</summary>
    /// <param name="parameters">The weights the pass runs with.</param>
    /// <param name="steps">T.</param>
    /// <param name="batchSize">B.</param>
    /// <param name="lengths">[B] steps of each stream, or null for T each.</param>
    /// <param name="dropoutMasks">[L − 1][T·B·D·H'] scaled masks on the output of each layer but the last, or null for none.</param>
    public RecurrentForward(ReferenceWeights parameters, int steps, int batchSize, int[]? lengths, double[][]? dropoutMasks)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Parameters = parameters;
        Steps = steps;
        BatchSize = batchSize;
        if (lengths is null)
        {
            Lengths = new int[batchSize];
            Array.Fill(Lengths, steps);
        }
        else
        {
            Lengths = (int[])lengths.Clone();
        }
        DropoutMasks = dropoutMasks is null ? null : Array.ConvertAll(dropoutMasks, m => (double[])m.Clone());
        int units = parameters.Units;
        LayerInput = new double[parameters.Layers][];
        PreGates = new double[units][];
        Gates = new double[units][];
        Cell = new double[units][];
        Hidden = new double[units][];
        Unprojected = new double[units][];
        RecurrentProjection = new double[units][];
        Array.Fill(Cell, []);
        Array.Fill(Unprojected, []);
        Array.Fill(RecurrentProjection, []);
        HN = new double[units * batchSize * parameters.HiddenStateSize];
        CN = parameters.Cell == CellKind.Lstm ? new double[units * batchSize * parameters.HiddenSize] : [];
        H0 = [];
        C0 = [];
        Output = [];
    }

    /// <summary>The weights the pass ran with.</summary>
    public ReferenceWeights Parameters { get; }

    /// <summary>T, the number of steps.</summary>
    public int Steps { get; }

    /// <summary>B, the number of streams.</summary>
    public int BatchSize { get; }

    /// <summary>[B], the steps each stream ran: 1..T, all T when the pass had no lengths.</summary>
    public int[] Lengths { get; }

    /// <summary>The scaled dropout masks applied to the output of each layer but the last, [L − 1][T·B·D·H'], or null for none.</summary>
    public double[][]? DropoutMasks { get; }

    /// <summary>The top layer's output at every step: [T, B, D·H'], each direction's h side by side (forward first); zero at t ≥ the stream's length.</summary>
    public double[] Output { get; set; }

    /// <summary>Each unit's hidden state after its last step: [L·D, B, H'] (the reverse direction's after t = 0).</summary>
    public double[] HN { get; }

    /// <summary>LSTM cell state after each unit's last step: [L·D, B, H]; empty for a GRU or an RNN.</summary>
    public double[] CN { get; }

    /// <summary>The initial hidden state actually used: [L·D, B, H'].</summary>
    public double[] H0 { get; set; }

    /// <summary>The initial cell state actually used: [L·D, B, H]; empty for a GRU or an RNN.</summary>
    public double[] C0 { get; set; }

    /// <summary>
    /// Each layer's input sequence: [L][T, B, I_l] (layer 0: the input; layer l: layer l − 1's output, times its dropout
    /// mask when there is one).
    /// </summary>
    public double[][] LayerInput { get; }

    /// <summary>
    /// The arguments of the gate nonlinearities: [L·D][T, B, G·H]. LSTM and RNN: W_ih x + b_ih + W_hh h₋₁ + b_hh. GRU: that
    /// sum for the r and z rows, and W_in x + b_in + r ⊙ (W_hn h₋₁ + b_hn) for the n rows. Backward reads them only under a fault.
    /// </summary>
    public double[][] PreGates { get; }

    /// <summary>
    /// Activated gates: LSTM [L·D][T, B, 4H] rows i = σ, f = σ, g = tanh, o = σ; GRU [L·D][T, B, 3H] rows r = σ, z = σ,
    /// n = tanh; RNN [L·D][T, B, H] = h.
    /// </summary>
    public double[][] Gates { get; }

    /// <summary>LSTM cell state c_t: [L·D][T, B, H]; empty arrays for a GRU or an RNN.</summary>
    public double[][] Cell { get; }

    /// <summary>
    /// LSTM with a projection: o ⊙ tanh(c_t), the value W_hr projects to h_t: [L·D][T, B, H]. Empty arrays without a
    /// projection (h_t is that value itself) and for a GRU or an RNN.
    /// </summary>
    public double[][] Unprojected { get; }

    /// <summary>
    /// GRU: the recurrent projection W_hh h₋₁ + b_hh, all three rows r, z, n: [L·D][T, B, 3H]. The GRU keeps it apart from
    /// the input projection because r multiplies its n rows alone, and backward needs W_hn h₋₁ + b_hn for dL/dr.
    /// Empty arrays for an LSTM or an RNN (which only ever use the sum of both projections).
    /// </summary>
    public double[][] RecurrentProjection { get; }

    /// <summary>Hidden state h_t of each unit: [L·D][T, B, H'].</summary>
    public double[][] Hidden { get; }

    /// <summary>
    /// The smallest |pre-activation| (<see cref="PreGates"/>) over every unit and every (t, b) a stream actually ran:
    /// how close the pass came to the ReLU kink. Padded positions, which hold zeros, are left out.
    /// </summary>
    public double MinAbsPreActivation()
    {
        double min = double.PositiveInfinity;
        int width = Parameters.GateCount * Parameters.HiddenSize;
        foreach (double[] pre in PreGates)
        {
            for (int t = 0; t < Steps; t++)
            {
                for (int b = 0; b < BatchSize; b++)
                {
                    if (t >= Lengths[b])
                        continue;
                    int at = (t * BatchSize + b) * width;
                    for (int k = 0; k < width; k++)
                        min = Math.Min(min, Math.Abs(pre[at + k]));
                }
            }
        }
        return min;
    }
}
