using System.Runtime.CompilerServices;

// The plotting and aggregation helpers are internal; their tests read them directly.
[assembly: InternalsVisibleTo("DiffTori.Cli.Tests")]
