using System;

namespace SimdLstm.Testing;

/// <summary>
/// The sizes of a stacked recurrent network and one run of it, in PyTorch's terms: input [T, B, I], hidden and
/// cell state [L, B, H], <c>weight_ih_l0</c> [G·H, I], <c>weight_ih_l{l>0}</c> [G·H, H], <c>weight_hh_l{l}</c> [G·H, H],
/// optional biases [G·H], with G = 4 for an LSTM, 3 for a GRU and 1 for a vanilla RNN.
/// </summary>
/// <param name="InputSize">I, features per step of the first layer's input (or the vocabulary size of token inputs).</param>
/// <param name="HiddenSize">H, units per layer.</param>
/// <param name="Steps">T, time steps.</param>
/// <param name="BatchSize">B, independent sequences.</param>
/// <param name="Layers">L, stacked layers; layer l &gt; 0 reads layer l − 1's hidden state.</param>
/// <param name="HasBias">Whether <c>bias_ih</c> and <c>bias_hh</c> exist.</param>
/// <param name="Activation">The vanilla RNN's nonlinearity (ignored by an LSTM or a GRU).</param>
public sealed record RecurrentShape(int InputSize, int HiddenSize, int Steps, int BatchSize, int Layers, bool HasBias, RnnActivation Activation)
{
    /// <summary>The input size of layer <paramref name="layer"/>: <see cref="InputSize"/> for layer 0, else <see cref="HiddenSize"/>.</summary>
    /// <param name="layer">0 ≤ layer &lt; <see cref="Layers"/>.</param>
    /// <returns>I_l.</returns>
    public int LayerInputSize(int layer)
    {
        if ((uint)layer >= (uint)Layers)
            throw new ArgumentOutOfRangeException(nameof(layer), layer, $"Expected a layer in [0, {Layers}).");
        return layer == 0 ? InputSize : HiddenSize;
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
