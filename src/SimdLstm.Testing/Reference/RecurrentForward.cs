using System;

namespace SimdLstm.Testing.Reference;

/// <summary>
/// The result of a reference forward pass over a sequence, with everything backward needs. Arrays indexed
/// [layer][...] hold one time-major buffer per layer.
/// </summary>
public sealed class RecurrentForward
{
    /// <summary>Creates an empty result for <paramref name="steps"/> steps of <paramref name="batchSize"/> streams; the forward pass fills it.</summary>
    /// <param name="parameters">The weights the pass runs with.</param>
    /// <param name="steps">T.</param>
    /// <param name="batchSize">B.</param>
    public RecurrentForward(ReferenceWeights parameters, int steps, int batchSize)
    {
        Parameters = parameters;
        Steps = steps;
        BatchSize = batchSize;
        int l = parameters.Layers;
        LayerInput = new double[l][];
        PreGates = new double[l][];
        Gates = new double[l][];
        Cell = new double[l][];
        Hidden = new double[l][];
        RecurrentProjection = new double[l][];
        if (parameters.Cell != CellKind.Gru)
            Array.Fill(RecurrentProjection, []);
        HN = new double[l * batchSize * parameters.HiddenSize];
        CN = parameters.Cell == CellKind.Lstm ? new double[l * batchSize * parameters.HiddenSize] : [];
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

    /// <summary>The top layer's hidden state at every step: [T, B, H].</summary>
    public double[] Output { get; set; }

    /// <summary>Hidden state after the last step: [L, B, H].</summary>
    public double[] HN { get; }

    /// <summary>LSTM cell state after the last step: [L, B, H]; empty for a GRU or an RNN.</summary>
    public double[] CN { get; }

    /// <summary>The initial hidden state actually used: [L, B, H].</summary>
    public double[] H0 { get; set; }

    /// <summary>The initial cell state actually used: [L, B, H]; empty for a GRU or an RNN.</summary>
    public double[] C0 { get; set; }

    /// <summary>Each layer's input sequence: [L][T, B, I_l] (layer 0: the input; layer l: layer l − 1's <see cref="Hidden"/>).</summary>
    public double[][] LayerInput { get; }

    /// <summary>
    /// The arguments of the gate nonlinearities: [L][T, B, G·H]. LSTM and RNN: W_ih x + b_ih + W_hh h₋₁ + b_hh. GRU: that
    /// sum for the r and z rows, and W_in x + b_in + r ⊙ (W_hn h₋₁ + b_hn) for the n rows. Backward reads them only under a fault.
    /// </summary>
    public double[][] PreGates { get; }

    /// <summary>
    /// Activated gates: LSTM [L][T, B, 4H] rows i = σ, f = σ, g = tanh, o = σ; GRU [L][T, B, 3H] rows r = σ, z = σ,
    /// n = tanh; RNN [L][T, B, H] = h.
    /// </summary>
    public double[][] Gates { get; }

    /// <summary>LSTM cell state c_t: [L][T, B, H]; empty arrays for a GRU or an RNN.</summary>
    public double[][] Cell { get; }

    /// <summary>
    /// GRU: the recurrent projection W_hh h₋₁ + b_hh, all three rows r, z, n: [L][T, B, 3H]. The GRU keeps it apart from
    /// the input projection because r multiplies its n rows alone, and backward needs W_hn h₋₁ + b_hn for dL/dr.
    /// Empty arrays for an LSTM or an RNN (which only ever use the sum of both projections).
    /// </summary>
    public double[][] RecurrentProjection { get; }

    /// <summary>Hidden state h_t: [L][T, B, H].</summary>
    public double[][] Hidden { get; }
}
