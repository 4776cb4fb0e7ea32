using System;

namespace SimdLstm;

/// <summary>
/// Gate panels in float32: the layout of <see cref="Kernels.PackGatePanels"/>, 4 bytes a weight, and its product in the
/// documented column order (<see cref="Kernels.GatePanelGemv"/>'s), bitwise the same on every vector width.
/// </summary>
internal sealed class Float32PanelWeights : PanelWeights
{
    private readonly float[] _packed;

    public Float32PanelWeights(int gateCount, int hiddenSize, int cols)
        : base(gateCount, hiddenSize, cols)
    {
        _packed = new float[Kernels.PackedGatePanelLength(gateCount, hiddenSize, cols)];
    }

    /// <summary>The packed values.</summary>
    public ReadOnlySpan<float> Packed => _packed;

    public override long Bytes => (long)_packed.Length * sizeof(float);

    public override void Pack(ReadOnlySpan<float> w) => Kernels.PackGatePanels(w, GateCount, HiddenSize, Cols, _packed);

    public override void Dequantize(Span<float> w)
    {
        Guard.Length(w.Length, GateCount * HiddenSize * Cols, nameof(w));
        for (int row = 0; row < GateCount * HiddenSize; row++)
        {
            (int block, int panelRow) = Kernels.PanelRowOf(row, GateCount, HiddenSize);
            for (int k = 0; k < Cols; k++)
                w[row * Cols + k] = _packed[((long)block * Cols + k) * Kernels.PanelRows + panelRow];
        }
    }

    public override void AccumulateBlock(int block, PanelInput input, Span<float> tile) =>
        Kernels.GatePanelAccumulateBlock(_packed, Cols, block, input.Values, tile);

    public override void AddColumn(int column, Span<float> y) => Kernels.GatePanelAddColumn(_packed, Cols, column, GateCount, HiddenSize, y);
}
