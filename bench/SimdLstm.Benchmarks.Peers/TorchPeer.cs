using System;
using TorchSharp;
using static TorchSharp.torch;

namespace SimdLstm.Benchmarks.Peers;

/// <summary>
/// libtorch through TorchSharp with the same weights as a SimdLstm layer: <c>nn.LSTMCell</c> or <c>nn.GRUCell</c> for the
/// streaming step, <c>nn.LSTM</c> or <c>nn.GRU</c> for sequences and training. PyTorch's gate order and tensor names are
/// SimdLstm's, so weights copy over unchanged.
/// </summary>
internal sealed class TorchPeer : IDisposable
{
    private readonly TorchSharp.Modules.LSTMCell? _lstmCell;
    private readonly TorchSharp.Modules.LSTM? _lstm;
    private readonly TorchSharp.Modules.GRUCell? _gruCell;
    private readonly TorchSharp.Modules.GRU? _gru;
    private readonly nn.Module _stepModule;
    private readonly nn.Module _sequenceModule;

    public TorchPeer(RecurrentParameters weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        RecurrentOptions o = weights.Options;
        if (o.NumLayers != 1 || !o.Bias || o.Cell is not (CellKind.Lstm or CellKind.Gru))
            throw new ArgumentException("Only a one-layer LSTM or GRU with biases is mapped onto libtorch here.", nameof(weights));
        int inputSize = o.InputSize, h = o.HiddenSize, rows = o.GateSize;
        Cell = o.Cell;
        InputSize = inputSize;
        HiddenSize = h;
        if (Cell == CellKind.Lstm)
        {
            _stepModule = _lstmCell = nn.LSTMCell(inputSize, h);
            _sequenceModule = _lstm = nn.LSTM(inputSize, h);
        }
        else
        {
            _stepModule = _gruCell = nn.GRUCell(inputSize, h);
            _sequenceModule = _gru = nn.GRU(inputSize, h);
        }
        using (no_grad())
        {
            foreach ((nn.Module module, string suffix) in new[] { (_stepModule, ""), (_sequenceModule, "_l0") })
            {
                Copy(module.get_parameter("weight_ih" + suffix), weights.WeightIh(0).ToArray(), rows, inputSize);
                Copy(module.get_parameter("weight_hh" + suffix), weights.WeightHh(0).ToArray(), rows, h);
                Copy(module.get_parameter("bias_ih" + suffix), weights.BiasIh(0).ToArray(), rows);
                Copy(module.get_parameter("bias_hh" + suffix), weights.BiasHh(0).ToArray(), rows);
            }
        }
    }

    /// <summary>LSTM or GRU.</summary>
    public CellKind Cell { get; }

    public int InputSize { get; }

    public int HiddenSize { get; }

    /// <summary>
    /// One cell step: x [B, I], h [B, H] and for an LSTM c [B, H] → (h', c'; c' null for a GRU), inference only.
    /// </summary>
    public (Tensor Hidden, Tensor? Cell) Step(Tensor x, Tensor hidden, Tensor? cell)
    {
        using var _ = no_grad();
        if (_gruCell is not null)
            return (_gruCell.forward(x, hidden), null);
        (Tensor h, Tensor c) = _lstmCell!.forward(x, (hidden, cell ?? throw new ArgumentNullException(nameof(cell))));
        return (h, c);
    }

    /// <summary>
    /// nn.LSTM / nn.GRU over x [T, B, I] from h0 (and c0) [1, B, H]: (y [T, B, H], h_T, c_T; c_T null for a GRU),
    /// inference only.
    /// </summary>
    public (Tensor Output, Tensor Hidden, Tensor? Cell) Sequence(Tensor x, Tensor hidden, Tensor? cell)
    {
        using var _ = no_grad();
        return Forward(x, hidden, cell);
    }

    /// <summary>
    /// Forward and backward over x [T, B, I] (requires grad) from a zero state, with dL/dy = <paramref name="dOutput"/>
    /// (the loss sum(y ⊙ dOutput) has exactly that gradient); gradients are zeroed first, as SimdLstm's pass does.
    /// </summary>
    public void Train(Tensor x, Tensor dOutput)
    {
        ArgumentNullException.ThrowIfNull(x);
        _sequenceModule.zero_grad();
        x.grad?.zero_();
        (Tensor y, Tensor hT, Tensor? cT) = Forward(x, null, null);
        using Tensor loss = (y * dOutput).sum();
        loss.backward();
        y.Dispose();
        hT.Dispose();
        cT?.Dispose();
    }

    /// <summary>The sequence module's parameter gradient by PyTorch name.</summary>
    public Tensor? Gradient(string name) => _sequenceModule.get_parameter(name)?.grad;

    private (Tensor Output, Tensor Hidden, Tensor? Cell) Forward(Tensor x, Tensor? hidden, Tensor? cell)
    {
        if (_gru is not null)
        {
            (Tensor y, Tensor h) = _gru.forward(x, hidden);
            return (y, h, null);
        }
        (Tensor ly, Tensor lh, Tensor lc) = _lstm!.forward(x, hidden is null ? null : (hidden, cell ?? throw new ArgumentNullException(nameof(cell))));
        return (ly, lh, lc);
    }

    private static void Copy(Tensor? destination, float[] values, params long[] shape)
    {
        if (destination is null)
            throw new InvalidOperationException("TorchSharp module lacks an expected parameter.");
        using Tensor source = tensor(values, shape);
        destination.copy_(source);
    }

    public void Dispose()
    {
        _stepModule.Dispose();
        _sequenceModule.Dispose();
    }
}

/// <summary>
/// libtorch's <c>nn.LSTM</c> or <c>nn.GRU</c> (one or two directions) with the same weights as a SimdLstm layer, run over
/// padded inputs with per-stream lengths through <c>pack_padded_sequence</c> (unsorted lengths, <c>enforce_sorted</c>
/// false) and back with <c>pad_packed_sequence</c>, inference only. The reverse direction's tensors are PyTorch's
/// <c>…_reverse</c>, which are SimdLstm's names too.
/// </summary>
internal sealed class TorchSequencePeer : IDisposable
{
    private readonly TorchSharp.Modules.LSTM? _lstm;
    private readonly TorchSharp.Modules.GRU? _gru;
    private readonly nn.Module _module;

    public TorchSequencePeer(RecurrentParameters weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        RecurrentOptions o = weights.Options;
        if (o.NumLayers != 1 || !o.Bias || o.ProjectionSize != 0 || o.Cell is not (CellKind.Lstm or CellKind.Gru))
            throw new ArgumentException("Only a one-layer LSTM or GRU with biases and no projection is mapped onto libtorch here.", nameof(weights));
        int inputSize = o.InputSize, h = o.HiddenSize, rows = o.GateSize;
        if (o.Cell == CellKind.Lstm)
            _module = _lstm = nn.LSTM(inputSize, h, bidirectional: o.Bidirectional);
        else
            _module = _gru = nn.GRU(inputSize, h, bidirectional: o.Bidirectional);
        using (no_grad())
        {
            for (int d = 0; d < o.NumDirections; d++)
            {
                string suffix = "_l0" + RecurrentParameters.DirectionSuffix(d);
                Copy(_module.get_parameter("weight_ih" + suffix), weights.WeightIh(0, d).ToArray(), rows, inputSize);
                Copy(_module.get_parameter("weight_hh" + suffix), weights.WeightHh(0, d).ToArray(), rows, h);
                Copy(_module.get_parameter("bias_ih" + suffix), weights.BiasIh(0, d).ToArray(), rows);
                Copy(_module.get_parameter("bias_hh" + suffix), weights.BiasHh(0, d).ToArray(), rows);
            }
        }
    }

    /// <summary>
    /// x [T, B, I] from a zero state: (y [T, B, D·H] zero past each stream's length, h_n [D, B, H], c_n or null). With
    /// <paramref name="lengths"/> (int64 [B]) the pass goes through a packed sequence; without, x runs as it is (every
    /// stream T long).
    /// </summary>
    public (Tensor Output, Tensor Hidden, Tensor? Cell) Forward(Tensor x, Tensor? lengths)
    {
        ArgumentNullException.ThrowIfNull(x);
        using var _ = no_grad();
        if (lengths is null)
        {
            if (_gru is not null)
            {
                (Tensor y, Tensor hn) = _gru.forward(x);
                return (y, hn, null);
            }
            (Tensor ly, Tensor lh, Tensor lc) = _lstm!.forward(x);
            return (ly, lh, lc);
        }
        long steps = x.shape[0];
        using nn.utils.rnn.PackedSequence packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first: false, enforce_sorted: false);
        if (_gru is not null)
        {
            (nn.utils.rnn.PackedSequence py, Tensor ph) = _gru.call(packed, null);
            using (py)
                return (Pad(py, steps), ph, null);
        }
        (nn.utils.rnn.PackedSequence pl, Tensor plh, Tensor plc) = _lstm!.call(packed, null);
        using (pl)
            return (Pad(pl, steps), plh, plc);
    }

    private static Tensor Pad(nn.utils.rnn.PackedSequence sequence, long steps)
    {
        (Tensor padded, Tensor lengths) = nn.utils.rnn.pad_packed_sequence(sequence, batch_first: false, padding_value: 0, total_length: steps);
        lengths.Dispose();
        return padded;
    }

    private static void Copy(Tensor? destination, float[] values, params long[] shape)
    {
        if (destination is null)
            throw new InvalidOperationException("TorchSharp module lacks an expected parameter.");
        using Tensor source = tensor(values, shape);
        destination.copy_(source);
    }

    public void Dispose() => _module.Dispose();
}
