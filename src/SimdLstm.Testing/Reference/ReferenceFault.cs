using System;

namespace SimdLstm.Testing.Reference;

/// <summary>
/// Classic bugs of hand-written recurrent networks, injected on purpose into the reference so the tests can
/// prove the gradient checker catches each of them ("teeth"). <see cref="None"/> everywhere else.
/// </summary>
[Flags]
public enum ReferenceFault
{
    /// <summary>The correct computation.</summary>
    None = 0,

    /// <summary>Backward (every cell): the dh carried from step t + 1 to step t is dropped, so only dOutput[t] reaches h_t.</summary>
    DropDhFromNextStep = 1 << 0,

    /// <summary>Backward (LSTM): the dc carried from step t + 1 to step t is dropped.</summary>
    DropDcFromNextStep = 1 << 1,

    /// <summary>
    /// Head backward: the softmax derivative p(1 − p) is multiplied onto the cross-entropy gradient (p − onehot)/N,
    /// although (p − onehot) already is the derivative of the fused softmax + cross-entropy.
    /// </summary>
    SoftmaxDerivativeOnCrossEntropy = 1 << 2,

    /// <summary>
    /// Backward: tanh' computed as 1 − x² of the pre-activation x instead of 1 − tanh(x)² (1 − y² of the saved output y):
    /// the LSTM's g gate and tanh(c), the GRU's n gate, the tanh RNN's h.
    /// </summary>
    TanhDerivativeOfPreActivation = 1 << 3,

    /// <summary>
    /// Backward (LSTM gates i, f, o; GRU gates r, z): σ' computed as x(1 − x) of the pre-activation x instead of s(1 − s)
    /// of the saved s = σ(x).
    /// </summary>
    SigmoidDerivativeOfPreActivation = 1 << 4,

    /// <summary>
    /// Backward (every cell): the bias gradients are overwritten at every step instead of accumulated over time (only the
    /// step backward visits last survives: t = 0 of a forward direction, t = T − 1 of a reverse one).
    /// </summary>
    BiasGradientOverwrittenPerStep = 1 << 5,

    /// <summary>Forward (every cell): an absent initial state h0 (and the LSTM's c0) is taken as all ones instead of all zeros.</summary>
    InitialStateOnes = 1 << 6,

    /// <summary>
    /// Forward (GRU), with the backward of what it computes: the reset gate scales the input side of n instead of the
    /// recurrent side, n = tanh(r ⊙ (W_in x + b_in) + W_hn h₋₁ + b_hn). Its gradients are right for the wrong model,
    /// so only a check against the true model's loss catches it.
    /// </summary>
    ResetGateOnInputSide = 1 << 7,

    /// <summary>
    /// Forward (GRU), with the backward of what it computes: z and 1 − z swapped, h = z ⊙ n + (1 − z) ⊙ h₋₁ (a
    /// convention found in the literature, but not nn.GRU's). Its gradients are right for the wrong model.
    /// </summary>
    UpdateGateSwapped = 1 << 8,

    /// <summary>
    /// Backward (GRU): the direct path h₋₁ → h is dropped, i.e. the term dh ⊙ z of dL/dh₋₁; only the paths through the
    /// gates' W_hh products reach the previous step.
    /// </summary>
    DropDhThroughUpdateGate = 1 << 9,
}
