using System;

namespace SimdLstm.Onnx;

/// <summary>
/// The gate blocks of ONNX's weights against PyTorch's: LSTM ONNX i, o, f, c against PyTorch i, f, g, o; GRU ONNX z, r, h
/// against PyTorch r, z, n; an RNN has one block.
/// </summary>
internal static class GateOrder
{
    private static readonly int[] LstmOnnxOfTorch = [0, 2, 3, 1];
    private static readonly int[] GruOnnxOfTorch = [1, 0, 2];
    private static readonly int[] Single = [0];

    /// <summary>For each PyTorch block j, the ONNX block holding the same gate.</summary>
    public static int[] OnnxOfTorch(CellKind cell) => cell switch
    {
        CellKind.Lstm => LstmOnnxOfTorch,
        CellKind.Gru => GruOnnxOfTorch,
        _ => Single,
    };

    /// <summary>Copies rows [G·H, columns] from ONNX's block order (<paramref name="onnx"/>) to PyTorch's.</summary>
    public static void ToTorch(CellKind cell, int hidden, int columns, ReadOnlySpan<float> onnx, Span<float> torch)
    {
        int[] map = OnnxOfTorch(cell);
        int block = hidden * columns;
        for (int j = 0; j < map.Length; j++)
            onnx.Slice(map[j] * block, block).CopyTo(torch.Slice(j * block, block));
    }

    /// <summary>Copies rows [G·H, columns] from PyTorch's block order to ONNX's.</summary>
    public static void ToOnnx(CellKind cell, int hidden, int columns, ReadOnlySpan<float> torch, Span<float> onnx)
    {
        int[] map = OnnxOfTorch(cell);
        int block = hidden * columns;
        for (int j = 0; j < map.Length; j++)
            torch.Slice(j * block, block).CopyTo(onnx.Slice(map[j] * block, block));
    }
}
