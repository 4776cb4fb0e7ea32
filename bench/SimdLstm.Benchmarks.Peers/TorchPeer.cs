using System;
using TorchSharp;
using static TorchSharp.torch;

namespace SimdLstm.Benchmarks.Peers;

/// <summary>
/// libtorch through TorchSharp with the same weights as a SimdLstm layer: <c>nn.LSTMCell</c> for the streaming step,
/// <c>nn.LSTM</c> for sequences and training. PyTorch's gate order and tensor names are SimdLstm's, so weights copy over
/// unchanged.
/// </summary>
internal sealed class TorchPeer : IDisposable
{
    private readonly TorchSharp.Modules.LSTMCell _cell;
    private readonly TorchSharp.Modules.LSTM _lstm;

    public TorchPeer(RecurrentParameters weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        int inputSize = weights.Options.InputSize, h = weights.Options.HiddenSize;
        InputSize = inputSize;
        HiddenSize = h;
        _cell = nn.LSTMCell(inputSize, h);
        _lstm = nn.LSTM(inputSize, h);
        using (no_grad())
        {
            Copy(_cell.weight_ih!, weights.WeightIh(0).ToArray(), 4 * h, inputSize);
            Copy(_cell.weight_hh!, weights.WeightHh(0).ToArray(), 4 * h, h);
            Copy(_cell.bias_ih!, weights.BiasIh(0).ToArray(), 4 * h);
            Copy(_cell.bias_hh!, weights.BiasHh(0).ToArray(), 4 * h);
            Copy(_lstm.get_parameter("weight_ih_l0"), weights.WeightIh(0).ToArray(), 4 * h, inputSize);
            Copy(_lstm.get_parameter("weight_hh_l0"), weights.WeightHh(0).ToArray(), 4 * h, h);
            Copy(_lstm.get_parameter("bias_ih_l0"), weights.BiasIh(0).ToArray(), 4 * h);
            Copy(_lstm.get_parameter("bias_hh_l0"), weights.BiasHh(0).ToArray(), 4 * h);
        }
    }

    public int InputSize { get; }

    public int HiddenSize { get; }

    /// <summary>One LSTMCell step: x [B, I], (h, c) [B, H] → (h', c'), inference only.</summary>
    public (Tensor Hidden, Tensor Cell) Step(Tensor x, Tensor hidden, Tensor cell)
    {
        using var _ = no_grad();
        return _cell.forward(x, (hidden, cell));
    }

    /// <summary>nn.LSTM over x [T, B, I] from (h0, c0) [1, B, H]: (y [T, B, H], h_T, c_T), inference only.</summary>
    public (Tensor Output, Tensor Hidden, Tensor Cell) Sequence(Tensor x, Tensor hidden, Tensor cell)
    {
        using var _ = no_grad();
        return _lstm.forward(x, (hidden, cell));
    }

    /// <summary>
    /// Forward and backward over x [T, B, I] (requires grad) from a zero state, with dL/dy = <paramref name="dOutput"/>
    /// (the loss sum(y ⊙ dOutput) has exactly that gradient); gradients are zeroed first, as SimdLstm's pass does.
    /// </summary>
    public void Train(Tensor x, Tensor dOutput)
    {
        ArgumentNullException.ThrowIfNull(x);
        _lstm.zero_grad();
        x.grad?.zero_();
        (Tensor y, Tensor hT, Tensor cT) = _lstm.forward(x, null);
        using Tensor loss = (y * dOutput).sum();
        loss.backward();
        y.Dispose();
        hT.Dispose();
        cT.Dispose();
    }

    /// <summary>The LSTM's parameter gradient by PyTorch name.</summary>
    public Tensor? Gradient(string name) => _lstm.get_parameter(name)?.grad;

    private static void Copy(Tensor? destination, float[] values, params long[] shape)
    {
        if (destination is null)
            throw new InvalidOperationException("TorchSharp module lacks an expected parameter.");
        using Tensor source = tensor(values, shape);
        destination.copy_(source);
    }

    public void Dispose()
    {
        _cell.Dispose();
        _lstm.Dispose();
    }
}
