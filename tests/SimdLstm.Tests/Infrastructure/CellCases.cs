using System;
using System.Linq;
using Xunit;

namespace SimdLstm.Tests;

/// <summary>
/// Every recurrent cell, once: the one list the tests enumerate, so a property written for one cell runs on every cell by
/// taking its cell from here (<c>[MemberData(nameof(CellCases.Cells), MemberType = typeof(CellCases))]</c>, or a loop over
/// <see cref="All"/> inside an FsCheck property).
/// </summary>
public static class CellCases
{
    /// <summary>LSTM, GRU and RNN (tanh; the ReLU RNN is drawn by the shape generators where a property covers it).</summary>
    public static readonly CellKind[] All = [CellKind.Lstm, CellKind.Gru, CellKind.Rnn];

    /// <summary><see cref="All"/> as theory data.</summary>
    public static TheoryData<CellKind> Cells => new(All);

    /// <summary>Every cell with each of <paramref name="values"/>: the cross product as theory data.</summary>
    public static TheoryData<CellKind, T> Each<T>(params T[] values)
    {
        var data = new TheoryData<CellKind, T>();
        foreach (CellKind cell in All)
            foreach (T value in values)
                data.Add(cell, value);
        return data;
    }
}

/// <summary>The list above cannot fall behind the enum.</summary>
public class CellCasesTests
{
    [Fact]
    public void All_NamesEveryCellKind() =>
        Assert.Equal(Enum.GetValues<CellKind>().Order(), CellCases.All.Order());
}
