namespace SimdLstm.Testing.Reference;

/// <summary>Runs <see cref="LstmReference"/> or <see cref="RnnReference"/> according to the parameters' <see cref="CellKind"/>.</summary>
public static class RecurrentReference
{
    /// <summary>Forward over input [T, B, I]; h0, c0 [L, B, H] default to zeros (c0 ignored by an RNN).</summary>
    public static RecurrentForward Forward(
        ReferenceWeights p, double[] input, int steps, int batchSize, double[]? h0 = null, double[]? c0 = null, ReferenceFault faults = ReferenceFault.None) =>
        p.Cell == CellKind.Lstm
            ? LstmReference.Forward(p, input, steps, batchSize, h0, c0, faults)
            : RnnReference.Forward(p, input, steps, batchSize, h0, faults);

    /// <summary>BPTT: gradients accumulated, dInput [T, B, I], dH0 and dC0 [L, B, H] written (dCN and dC0 ignored by an RNN).</summary>
    public static void Backward(
        RecurrentForward f, double[] dOutput, double[]? dHN, double[]? dCN,
        ReferenceWeights gradients, double[] dInput, double[] dH0, double[] dC0, ReferenceFault faults = ReferenceFault.None)
    {
        if (f.Parameters.Cell == CellKind.Lstm)
            LstmReference.Backward(f, dOutput, dHN, dCN, gradients, dInput, dH0, dC0, faults);
        else
            RnnReference.Backward(f, dOutput, dHN, gradients, dInput, dH0, faults);
    }
}
