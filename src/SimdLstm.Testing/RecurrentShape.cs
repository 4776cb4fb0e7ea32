using System;
using System.Linq;
using System.Text;
using SimdLstm.Testing.Reference;

namespace SimdLstm.Testing;

/// <summary>
/// The sizes of a stacked recurrent network and one run of it, in PyTorch's terms: input [T, B, I], hidden state
/// [L·D, B, H'] and cell state [L·D, B, H], <c>weight_ih_l0</c> [G·H, I], <c>weight_ih_l{l>0}</c> [G·H, D·H'],
/// <c>weight_hh_l{l}</c> [G·H, H'], optional biases [G·H], with G = 4 for an LSTM, 3 for a GRU and 1 for a vanilla RNN,
/// D = 2 directions when <see cref="Bidirectional"/>, and H' = P for an LSTM with a <see cref="ProjectionSize"/> P, else H.
/// </summary>
/// <remarks>
/// The positional members are the original shape; the init-only members (<see cref="Bidirectional"/>,
/// <see cref="ProjectionSize"/>, <see cref="Lengths"/>, <see cref="DropoutProbability"/>, <see cref="MaskSeed"/>) default
/// to a unidirectional, unprojected run of full-length streams without dropout. A shape serves every cell, so the
/// projection applies to the LSTM only (<see cref="ProjectionSizeFor"/>); the GRU and the RNN run the same shape
/// without it.
/// </remarks>
/// <param name="InputSize">I, features per step of the first layer's input (or the vocabulary size of token inputs).</param>
/// <param name="HiddenSize">H, units per layer.</param>
/// <param name="Steps">T, time steps.</param>
/// <param name="BatchSize">B, independent sequences.</param>
/// <param name="Layers">L, stacked layers; layer l &gt; 0 reads layer l − 1's output.</param>
/// <param name="HasBias">Whether <c>bias_ih</c> and <c>bias_hh</c> exist.</param>
/// <param name="Activation">The vanilla RNN's nonlinearity (ignored by an LSTM or a GRU).</param>
public sealed record RecurrentShape(int InputSize, int HiddenSize, int Steps, int BatchSize, int Layers, bool HasBias, RnnActivation Activation)
{
    /// <summary>Whether every layer also runs a reverse direction (PyTorch's <c>bidirectional</c>).</summary>
    public bool Bidirectional { get; init; }

    /// <summary>P, the LSTM's projection size (PyTorch's <c>proj_size</c>), 0 ≤ P &lt; H; 0 for none. Ignored by a GRU or an RNN.</summary>
    public int ProjectionSize { get; init; }

    /// <summary>[B] steps of each stream, each in 1..T in any order; null when every stream runs all T steps.</summary>
    public int[]? Lengths { get; init; }

    /// <summary>p, the dropout probability between layers (0 ≤ p &lt; 1; 0 for none): see <see cref="DropoutMasks"/>.</summary>
    public double DropoutProbability { get; init; }

    /// <summary>The seed of the fixed dropout masks <see cref="DropoutMasks"/> draws.</summary>
    public ulong MaskSeed { get; init; }

    /// <summary>D: 2 when <see cref="Bidirectional"/>, else 1.</summary>
    public int Directions => Bidirectional ? 2 : 1;

    /// <summary>P for <paramref name="cell"/>: <see cref="ProjectionSize"/> for an LSTM, 0 for a GRU or an RNN.</summary>
    public int ProjectionSizeFor(CellKind cell) => cell == CellKind.Lstm ? ProjectionSize : 0;

    /// <summary>H' for <paramref name="cell"/>: the width of h, P for a projected LSTM, else H.</summary>
    public int HiddenStateSize(CellKind cell) => ProjectionSizeFor(cell) > 0 ? ProjectionSize : HiddenSize;

    /// <summary>D · H' for <paramref name="cell"/>: the features of each step of a layer's output.</summary>
    public int OutputSize(CellKind cell) => Directions * HiddenStateSize(cell);

    /// <summary>
    /// The input size of layer <paramref name="layer"/> without a projection: <see cref="InputSize"/> for layer 0, else
    /// D·H (use <see cref="LayerInputSize(int, CellKind)"/> for a projected LSTM).
    /// </summary>
    /// <param name="layer">0 ≤ layer &lt; <see cref="Layers"/>.</param>
    /// <returns>I_l.</returns>
    public int LayerInputSize(int layer) => LayerInputSize(layer, CellKind.Gru);

    /// <summary>The input size of layer <paramref name="layer"/> for <paramref name="cell"/>: <see cref="InputSize"/> for layer 0, else D·H'.</summary>
    /// <param name="layer">0 ≤ layer &lt; <see cref="Layers"/>.</param>
    /// <param name="cell">The cell, which decides whether the projection applies.</param>
    /// <returns>I_l.</returns>
    public int LayerInputSize(int layer, CellKind cell)
    {
        if ((uint)layer >= (uint)Layers)
            throw new ArgumentOutOfRangeException(nameof(layer), layer, $"Expected a layer in [0, {Layers}).");
        return layer == 0 ? InputSize : OutputSize(cell);
    }

    /// <summary>Zero-filled reference weights of this shape for <paramref name="cell"/> (directions, and the projection for an LSTM, included).</summary>
    /// <param name="cell">The cell.</param>
    /// <returns>New weights.</returns>
    public ReferenceWeights CreateWeights(CellKind cell) =>
        new(cell, InputSize, HiddenSize, Layers, HasBias, Activation, Bidirectional, ProjectionSizeFor(cell));

    /// <summary>
    /// The fixed inverted-dropout masks of this shape for <paramref name="cell"/>: [L − 1][T·B·D·H'], each element 0 with
    /// probability p and 1/(1 − p) otherwise, drawn from <see cref="MaskSeed"/> (the same masks on every call); null when
    /// p is 0 or there is a single layer.
    /// </summary>
    /// <param name="cell">The cell, which decides H'.</param>
    /// <returns>The masks for <see cref="RecurrentReference.Forward"/>, or null.</returns>
    public double[][]? DropoutMasks(CellKind cell)
    {
        if (!(DropoutProbability >= 0 && DropoutProbability < 1))
            throw new InvalidOperationException($"Expected a dropout probability in [0, 1) but the shape has {DropoutProbability}.");
        if (DropoutProbability == 0 || Layers == 1)
            return null;
        var random = new SeededRandom(MaskSeed);
        double keep = 1 / (1 - DropoutProbability);
        int length = Steps * BatchSize * OutputSize(cell);
        var masks = new double[Layers - 1][];
        for (int l = 0; l < masks.Length; l++)
        {
            masks[l] = new double[length];
            for (int k = 0; k < length; k++)
                masks[l][k] = random.NextDouble() < DropoutProbability ? 0 : keep;
        }
        return masks;
    }

    /// <summary>Whether stream <paramref name="batch"/> reaches step <paramref name="step"/>: t &lt; its length (always without lengths).</summary>
    public bool IsReal(int step, int batch) => Lengths is null || step < Lengths[batch];

    /// <summary>Value equality, <see cref="Lengths"/> compared element by element.</summary>
    public bool Equals(RecurrentShape? other) =>
        other is not null
        && (InputSize, HiddenSize, Steps, BatchSize, Layers, HasBias, Activation) == (other.InputSize, other.HiddenSize, other.Steps, other.BatchSize, other.Layers, other.HasBias, other.Activation)
        && (Bidirectional, ProjectionSize, DropoutProbability, MaskSeed) == (other.Bidirectional, other.ProjectionSize, other.DropoutProbability, other.MaskSeed)
        && (Lengths is null ? other.Lengths is null : other.Lengths is not null && Lengths.SequenceEqual(other.Lengths));

    /// <summary>A hash consistent with <see cref="Equals(RecurrentShape?)"/>.</summary>
    public override int GetHashCode()
    {
        var hash = new HashCode();
        hash.Add((InputSize, HiddenSize, Steps, BatchSize, Layers, HasBias, Activation));
        hash.Add((Bidirectional, ProjectionSize, DropoutProbability, MaskSeed));
        foreach (int length in Lengths ?? [])
            hash.Add(length);
        return hash.ToHashCode();
    }

    // The record's printout, with the lengths spelled out so a failing case can be replayed from its message.
    private bool PrintMembers(StringBuilder builder)
    {
        builder.Append($"InputSize = {InputSize}, HiddenSize = {HiddenSize}, Steps = {Steps}, BatchSize = {BatchSize}, Layers = {Layers}, HasBias = {HasBias}, Activation = {Activation}");
        if (Bidirectional) builder.Append(", Bidirectional = True");
        if (ProjectionSize != 0) builder.Append($", ProjectionSize = {ProjectionSize}");
        if (Lengths is not null) builder.Append($", Lengths = [{string.Join(", ", Lengths)}]");
        if (DropoutProbability != 0) builder.Append(System.Globalization.CultureInfo.InvariantCulture, $", DropoutProbability = {DropoutProbability}, MaskSeed = {MaskSeed}");
        return true;
    }
}

/// <summary>A <see cref="RecurrentShape"/> with a seed for its data (weights, inputs, states), drawn through <see cref="CreateRandom"/>.</summary>
/// <param name="Shape">The sizes.</param>
/// <param name="Seed">The data seed; printed with the case so a failure can be replayed.</param>
public sealed record RecurrentCase(RecurrentShape Shape, ulong Seed)
{
    /// <summary>A fresh <see cref="SeededRandom"/> at the start of this case's data stream.</summary>
    /// <returns>A new source; two calls give the same sequence.</returns>
    public SeededRandom CreateRandom() => new(Seed);
}
