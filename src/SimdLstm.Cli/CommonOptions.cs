using System.CommandLine;

namespace SimdLstm.Cli;

/// <summary>Option factories shared by the commands.</summary>
internal static class CommonOptions
{
    /// <summary>An integer option with a default, rejected at parse time below <paramref name="minimum"/>.</summary>
    public static Option<int> Int(string name, string description, int defaultValue, int minimum = 1)
    {
        var option = new Option<int>(name) { Description = $"{description} (default {defaultValue})", DefaultValueFactory = _ => defaultValue };
        option.Validators.Add(result =>
        {
            // Only a value that parses is checked here; one that does not is already reported by the parser.
            if (result.Tokens.Count == 1 && int.TryParse(result.Tokens[0].Value, System.Globalization.CultureInfo.InvariantCulture, out int value) && value < minimum)
                result.AddError($"{name} must be at least {minimum} but is {value}.");
        });
        return option;
    }

    /// <summary><c>--cell lstm|rnn</c>.</summary>
    public static Option<string> Cell(string defaultValue = "lstm")
    {
        var option = new Option<string>("--cell") { Description = $"Cell kind: lstm or rnn (default {defaultValue})", DefaultValueFactory = _ => defaultValue };
        option.AcceptOnlyFromAmong("lstm", "rnn");
        return option;
    }

    public static CellKind ParseCell(string? text) => text == "rnn" ? CellKind.Rnn : CellKind.Lstm;
}
