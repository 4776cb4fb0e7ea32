using System;

namespace SimdLstm;

/// <summary>
/// What a <see cref="PackedRecurrentLayer"/>'s steps and inference passes need and nothing else, allocated once for passes
/// of at most <see cref="MaxSteps"/> steps over at most <see cref="MaxBatch"/> streams: no saved activations, no
/// gradient buffers. Steps and passes that fit allocate nothing.
/// </summary>
/// <remarks>
/// A workspace belongs to one thread at a time; many threads may share one packed copy, each with its own workspace and
/// state. Made with a <see cref="ComputePool"/>, it shares the products of each step and pass among the pool's threads
/// (bitwise the results of one thread); the workspace uses the pool but does not own it.
/// <para>Size: for a batch-1 step about 4·(G·H + I + 4·H) bytes plus 2·(I + H) for the int8 copy's quantised inputs;
/// a sequence pass adds about 4·T·B·(G·H + I + 2·D·H') (and 2·T·B·max(I, D·H') for int8).</para>
/// </remarks>
public sealed class InferenceWorkspace : IPassWorkspace
{
    internal InferenceWorkspace(PackedRecurrentLayer layer, int maxSteps, int maxBatch, ComputePool? pool)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSteps, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatch, 1);
        RecurrentOptions options = layer.Options;
        Options = options;
        Precision = layer.Precision;
        MaxSteps = maxSteps;
        MaxBatch = maxBatch;
        Pool = pool;
        int h = options.HiddenSize, hs = options.HiddenStateSize, g = options.GateSize, width = options.OutputSize;
        long rows = (long)maxSteps * maxBatch;
        Gates = new float[Checked(rows * g)];
        Recurrent = options.Recurrence.SeparateRecurrent ? new float[Checked((long)maxBatch * g)] : [];
        Input = new float[Checked(rows * options.InputSize)];
        Tokens = new int[Checked(rows)];
        Lower = new float[Checked(rows * width)];
        Upper = new float[Lower.Length];
        CarryHidden = new float[Checked((long)maxBatch * hs)];
        CarryCell = options.HasCellState ? new float[Checked((long)maxBatch * h)] : [];
        Raw = options.ProjectionSize > 0 ? new float[Checked((long)maxBatch * h)] : [];
        NextHidden = new float[Math.Max(h, hs)];
        // Quantised inputs of a step (x and h), and of every row of a pass's input projection.
        int widestInput = 0;
        for (int l = 0; l < options.NumLayers; l++)
            widestInput = Math.Max(widestInput, layer.PreparedLength(l, recurrent: false));
        PreparedA = new short[widestInput];
        PreparedB = new short[layer.PreparedLength(0, recurrent: true)];
        PreparedRows = widestInput == 0 ? [] : new short[Checked(rows * widestInput)];
        RowScales = PreparedRows.Length == 0 ? [] : new float[Checked(rows)];
        Layout = new SequenceLayout(maxSteps, maxBatch);
        PanelWork = new GatePanelWork();
        RowsWork = new PanelRowsWork();
        ProjectionWork = new PackedGemmRowsWork();
    }

    /// <summary>The network shape this workspace serves.</summary>
    public RecurrentOptions Options { get; }

    /// <summary>The precision of the packed copy this workspace serves (its scratch for converted inputs depends on it).</summary>
    public PackedPrecision Precision { get; }

    /// <summary>The largest number of steps a pass may run with this workspace.</summary>
    public int MaxSteps { get; }

    /// <summary>The largest batch a pass or step may run with this workspace.</summary>
    public int MaxBatch { get; }

    /// <summary>The pool whose threads share this workspace's products, or null for the calling thread alone.</summary>
    public ComputePool? Pool { get; }

    internal float[] Gates { get; }         // [R, G·H]: the gates of a pass's rows (a step's first G·H)
    internal float[] Recurrent { get; }     // [B, G·H]: W_hh·h + b_hh of the running streams (cells that keep it apart)
    internal float[] Input { get; }         // [R, I]: the dense input, compact
    internal int[] Tokens { get; }          // [R]: the token input, compact
    internal float[] Lower { get; }         // [R, D·H']: a layer's input rows (the layer below's output)
    internal float[] Upper { get; }         // [R, D·H']: a layer's output rows
    internal float[] CarryHidden { get; }   // [B, H']: the running h of a batch pass, in slot order
    internal float[] CarryCell { get; }     // [B, H]: the running c of a batch pass, in slot order
    internal float[] Raw { get; }           // [B, H]: h before the projection (projected LSTMs)
    internal float[] NextHidden { get; }    // [max(H, H')]: a stream step's new h before it replaces the old
    internal short[] PreparedA { get; }     // a step's input as the format multiplies it (int8: quantised)
    internal short[] PreparedB { get; }     // a step's h as the format multiplies it
    internal short[] PreparedRows { get; }  // [R, K]: every row's input of a pass's projection, prepared
    internal float[] RowScales { get; }     // [R]: their scales
    internal SequenceLayout Layout { get; }
    internal GatePanelWork PanelWork { get; }
    internal PanelRowsWork RowsWork { get; }
    internal PackedGemmRowsWork ProjectionWork { get; }

    SequenceLayout IPassWorkspace.Layout => Layout;
    float[] IPassWorkspace.Input => Input;
    int[] IPassWorkspace.Tokens => Tokens;

    private static int Checked(long length) =>
        length <= Array.MaxLength ? (int)length : throw new ArgumentOutOfRangeException("maxSteps", "The workspace would not fit in one array; use fewer steps or a smaller batch.");
}

/// <summary>What the argument checks and the input gathering of a pass need from a workspace of either kind.</summary>
internal interface IPassWorkspace
{
    RecurrentOptions Options { get; }
    int MaxSteps { get; }
    int MaxBatch { get; }
    ComputePool? Pool { get; }
    SequenceLayout Layout { get; }
    float[] Input { get; }
    int[] Tokens { get; }
}
