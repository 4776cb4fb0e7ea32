namespace SimdLstm;

/// <summary>The nonlinearity of a vanilla (Elman) RNN cell, as PyTorch's <c>nonlinearity</c> argument.</summary>
public enum RnnActivation
{
    /// <summary>h = tanh(pre-activation).</summary>
    Tanh = 0,

    /// <summary>h = max(0, pre-activation).</summary>
    Relu = 1,
}
