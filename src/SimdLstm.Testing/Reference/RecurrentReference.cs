namespace SimdLstm.Testing.Reference;

/// <summary>
/// Runs <see cref="LstmReference"/>, <see cref="GruReference"/> or <see cref="RnnReference"/> according to the
/// parameters' <see cref="CellKind"/>.
/// </summary>
public static class RecurrentReference
{
    /// <summary>Forward over input [T, B, I]; h0, c0 [L, B, H] default to zeros (c0 ignored by a GRU or an RNN).</summary>
    public static RecurrentForward Forward(
        ReferenceWeights p, double[] input, int steps, int batchSize, double[]? h0 = null, double[]? c0 = null, ReferenceFault faults = ReferenceFault.None) =>
        p.Cell switch
        {
            CellKind.Lstm => LstmReference.Forward(p, input, steps, batchSize, h0, c0, faults),
            CellKind.Gru => GruReference.Forward(p, input, steps, batchSize, h0, faults),
            _ => RnnReference.Forward(p, input, steps, batchSize, h0, faults),
        };

    /// <summary>
    /// BPTT: gradients accumulated, dInput [T, B, I], dH0 and dC0 [L, B, H] written (dCN ignored and dC0 left untouched by
    /// a GRU or an RNN, which have no cell state).
    /// </summary>
    public static void Backward(
        RecurrentForward f, double[] dOutput, double[]? dHN, double[]? dCN,
        ReferenceWeights gradients, double[] dInput, double[] dH0, double[] dC0, ReferenceFault faults = ReferenceFault.None)
    {
        switch (f.Parameters.Cell)
        {
            case CellKind.Lstm:
                LstmReference.Backward(f, dOutput, dHN, dCN, gradients, dInput, dH0, dC0, faults);
                break;
            case CellKind.Gru:
                GruReference.Backward(f, dOutput, dHN, gradients, dInput, dH0, faults);
                break;
            default:
                RnnReference.Backward(f, dOutput, dHN, gradients, dInput, dH0, faults);
                break;
        }
    }
}
