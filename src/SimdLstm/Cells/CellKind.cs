namespace SimdLstm;

/// <summary>The kind of recurrent cell.</summary>
public enum CellKind
{
    /// <summary>Long short-term memory: four gates (i, f, g, o in PyTorch's order), a cell state c and a hidden state h.</summary>
    Lstm = 0,

    /// <summary>Vanilla (Elman) RNN: one gate, h = act(W_ih·x + b_ih + W_hh·h₋₁ + b_hh) with tanh or ReLU.</summary>
    Rnn = 1,

    /// <summary>
    /// Gated recurrent unit (PyTorch's <c>nn.GRU</c>): three gates r, z, n, no cell state;
    /// n = tanh(W_in·x + b_in + r ⊙ (W_hn·h₋₁ + b_hn)), h = (1 − z) ⊙ n + z ⊙ h₋₁.
    /// </summary>
    Gru = 2,
}
