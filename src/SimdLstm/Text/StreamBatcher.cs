using System;

namespace SimdLstm.Text;

/// <summary>
/// Cuts one token array into B parallel streams for truncated backpropagation through time, as karpathy's char-rnn does:
/// the text is split into B contiguous stripes of equal length, and chunk k gives every stripe's tokens
/// [k·T, k·T + T) as inputs and the tokens one position later as targets. Consecutive chunks continue every stream, so a
/// <see cref="RecurrentState"/> carried from one chunk to the next is the state of the same text position.
/// </summary>
/// <remarks>
/// Layout of a chunk: time-major [T, B], element (t, b) at t·B + b — the layout <see cref="SequenceModel.ForwardBackward(ReadOnlySpan{int}, ReadOnlySpan{int}, int, RecurrentState, SequenceModelWorkspace, SequenceModelGradients)"/>
/// expects. Each stripe holds S = ⌊(n − 1)/B⌋ input positions (the last token of the text is only ever a target), and an
/// epoch is ⌊S/T⌋ chunks; the tail of each stripe that does not fill a chunk is not used. The chunk buffers are allocated
/// once: <see cref="Fill"/> allocates nothing.
/// </remarks>
public sealed class StreamBatcher
{
    private readonly ReadOnlyMemory<int> _tokens;
    private readonly int[] _inputs;
    private readonly int[] _targets;

    /// <summary>Creates the batcher.</summary>
    /// <param name="tokens">The whole token sequence; at least B·T + 1 tokens so one chunk exists. Not copied: it must not change.</param>
    /// <param name="batchSize">B, the number of parallel streams.</param>
    /// <param name="steps">T, the chunk length.</param>
    /// <exception cref="ArgumentException">Too few tokens for one chunk.</exception>
    /// <exception cref="ArgumentOutOfRangeException">B or T is less than 1.</exception>
    public StreamBatcher(ReadOnlyMemory<int> tokens, int batchSize, int steps)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(steps, 1);
        long needed = (long)batchSize * steps + 1;
        if (tokens.Length < needed)
            throw new ArgumentException($"Expected at least B·T + 1 = {needed} tokens for {batchSize} streams of {steps} steps but got {tokens.Length}.", nameof(tokens));
        _tokens = tokens;
        BatchSize = batchSize;
        Steps = steps;
        StripeLength = (tokens.Length - 1) / batchSize;
        ChunksPerEpoch = StripeLength / steps;
        _inputs = new int[steps * batchSize];
        _targets = new int[steps * batchSize];
    }

    /// <summary>B, the number of parallel streams.</summary>
    public int BatchSize { get; }

    /// <summary>T, the number of steps per chunk.</summary>
    public int Steps { get; }

    /// <summary>S, the input positions per stream.</summary>
    public int StripeLength { get; }

    /// <summary>Chunks in one pass over the text: ⌊S/T⌋.</summary>
    public int ChunksPerEpoch { get; }

    /// <summary>The inputs of the last filled chunk, [T, B].</summary>
    public ReadOnlySpan<int> Inputs => _inputs;

    /// <summary>The targets of the last filled chunk, [T, B]: each input's next token.</summary>
    public ReadOnlySpan<int> Targets => _targets;

    /// <summary>Fills <see cref="Inputs"/> and <see cref="Targets"/> with chunk <paramref name="chunk"/>. Allocates nothing.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="chunk"/> is not in [0, <see cref="ChunksPerEpoch"/>).</exception>
    public void Fill(int chunk)
    {
        if ((uint)chunk >= (uint)ChunksPerEpoch)
            throw new ArgumentOutOfRangeException(nameof(chunk), chunk, $"Expected a chunk in [0, {ChunksPerEpoch}).");
        ReadOnlySpan<int> tokens = _tokens.Span;
        int b = BatchSize, start = chunk * Steps;
        for (int s = 0; s < b; s++)
        {
            int position = s * StripeLength + start;
            for (int t = 0; t < Steps; t++)
            {
                _inputs[t * b + s] = tokens[position + t];
                _targets[t * b + s] = tokens[position + t + 1];
            }
        }
    }
}
