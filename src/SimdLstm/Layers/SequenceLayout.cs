using System;

namespace SimdLstm;

/// <summary>
/// Where the rows of one sequence pass live. Streams are ordered by length, longest first (stable), so the streams still
/// running at step t are the first n_t "slots"; the rows of a pass are compact, step by step: step t's n_t rows start at
/// <see cref="RowStart"/>[t], R = Σ n_t rows in all. Without lengths (or with all of them T) the order is the identity
/// and R = T·B, the plain time-major layout. Padding therefore costs nothing: no product, no pointwise step, no row.
/// </summary>
/// <remarks>
/// <para>Each direction keeps its hidden (and cell) states in a history of R + B rows laid out so that a step's previous
/// states and its new states are each one contiguous block of n_t rows:</para>
/// <list type="bullet">
/// <item>Forward: B initial rows, then step 0's rows, step 1's, …: the previous rows of step t are the first n_t rows of
/// step t − 1's (streams that ended are the last slots).</item>
/// <item>Reverse (time runs T − 1 … 0): step 0's rows, then, after each step t's rows, the initial states of the streams
/// whose reverse pass starts at step t − 1 (slots n_t … n_{t−1} − 1). The previous rows of step t are then step t + 1's
/// rows followed by those initial rows, and the previous rows of all steps in order are one block of R rows aligned with
/// the steps' own rows, which the weight gradient reads directly.</item>
/// </list>
/// </remarks>
internal sealed class SequenceLayout
{
    public SequenceLayout(int maxSteps, int maxBatch)
    {
        Order = new int[maxBatch];
        Slot = new int[maxBatch];
        Length = new int[maxBatch];
        Active = new int[maxSteps + 1];
        RowStart = new int[maxSteps + 1];
        _count = new int[maxSteps + 2];
    }

    private readonly int[] _count;

    public int Steps { get; private set; }
    public int Batch { get; private set; }
    public int Rows { get; private set; }

    /// <summary>Whether every stream runs all T steps (the order is then the identity).</summary>
    public bool Uniform { get; private set; }

    public int[] Order { get; }     // slot → stream
    public int[] Slot { get; }      // stream → slot
    public int[] Length { get; }    // slot → length
    public int[] Active { get; }    // step → streams still running (n_t); Active[T] = 0
    public int[] RowStart { get; }  // step → first row; RowStart[T] = R

    /// <summary>Lays out a pass of <paramref name="steps"/> steps of <paramref name="batch"/> streams (lengths validated by the caller).</summary>
    public void Set(int steps, int batch, ReadOnlySpan<int> lengths)
    {
        Steps = steps;
        Batch = batch;
        Uniform = true;
        for (int b = 0; b < lengths.Length; b++)
            Uniform &= lengths[b] == steps;
        if (Uniform)
        {
            for (int b = 0; b < batch; b++)
            {
                Order[b] = b;
                Slot[b] = b;
                Length[b] = steps;
            }
        }
        else
        {
            // A stable counting sort by length, longest first: slots of equal length keep the streams' order.
            Span<int> count = _count.AsSpan(0, steps + 2);
            count.Clear();
            for (int b = 0; b < batch; b++)
                count[steps - lengths[b] + 1]++;
            for (int k = 1; k < count.Length; k++)
                count[k] += count[k - 1];
            for (int b = 0; b < batch; b++)
            {
                int s = count[steps - lengths[b]]++;
                Order[s] = b;
                Slot[b] = s;
                Length[s] = lengths[b];
            }
        }

        // n_t = streams with length > t: a prefix of the slots.
        int active = batch, row = 0;
        for (int t = 0; t < steps; t++)
        {
            while (active > 0 && Length[active - 1] <= t)
                active--;
            Active[t] = active;
            RowStart[t] = row;
            row += active;
        }
        Active[steps] = 0;
        RowStart[steps] = row;
        Rows = row;
    }

    /// <summary>The history row of step t's first new state in direction <paramref name="direction"/>.</summary>
    public int OutRow(int direction, int t) => direction == 0
        ? Batch + RowStart[t]
        : RowStart[t] + (t >= 1 ? Active[0] - Active[t - 1] : 0);

    /// <summary>The history row of step t's first previous state in direction <paramref name="direction"/>.</summary>
    public int PrevRow(int direction, int t) => direction == 0
        ? (t == 0 ? 0 : Batch + RowStart[t - 1])
        : OutRow(1, t + 1);

    /// <summary>The step at which slot <paramref name="slot"/> starts in <paramref name="direction"/>.</summary>
    public int FirstStep(int direction, int slot) => direction == 0 ? 0 : Length[slot] - 1;

    /// <summary>The step at which slot <paramref name="slot"/> ends in <paramref name="direction"/>.</summary>
    public int LastStep(int direction, int slot) => direction == 0 ? Length[slot] - 1 : 0;

    /// <summary>The history row holding slot <paramref name="slot"/>'s initial state in <paramref name="direction"/>.</summary>
    public int InitialRow(int direction, int slot) => PrevRow(direction, FirstStep(direction, slot)) + slot;

    /// <summary>The history row holding slot <paramref name="slot"/>'s final state in <paramref name="direction"/>.</summary>
    public int FinalRow(int direction, int slot) => OutRow(direction, LastStep(direction, slot)) + slot;
}
