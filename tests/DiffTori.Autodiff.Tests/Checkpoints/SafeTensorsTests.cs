using System.Text;
using DiffTori.Autodiff.Checkpoints;
using DiffTori.Engine;

namespace DiffTori.Autodiff.Tests.Checkpoints;

/// <summary>
/// The safetensors reader and writer against files built byte by byte from the format's specification,
/// and every way a file can be corrupt.
/// </summary>
public sealed class SafeTensorsTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("difftori-st-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>8-byte little-endian header length, the header, then the data (the layout the spec defines).</summary>
    internal static byte[] FileBytes(string header, byte[] data)
    {
        var h = Encoding.UTF8.GetBytes(header);
        var file = new byte[8 + h.Length + data.Length];
        BitConverter.GetBytes((ulong)h.Length).CopyTo(file, 0);
        h.CopyTo(file, 8);
        data.CopyTo(file, 8 + h.Length);
        return file;
    }

    private static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    private static byte[] Floats(params float[] v) => v.SelectMany(BitConverter.GetBytes).ToArray();
    private static byte[] Doubles(params double[] v) => v.SelectMany(BitConverter.GetBytes).ToArray();
    private static byte[] Ints(params int[] v) => v.SelectMany(BitConverter.GetBytes).ToArray();

    // The header our writer must produce for the fixture below: compact JSON, metadata first, tensors in
    // the given order, padded with spaces to a multiple of 8 bytes.
    private const string FixtureJson =
        "{\"__metadata__\":{\"format\":\"pt\",\"step\":\"7\"}," +
        "\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}," +
        "\"idx\":{\"dtype\":\"I32\",\"shape\":[2],\"data_offsets\":[24,32]}," +
        "\"s\":{\"dtype\":\"F64\",\"shape\":[],\"data_offsets\":[32,40]}}";

    private static readonly float[] W = [1.5f, -2f, 0.25f, 3e-8f, 1e6f, -0f];

    private static byte[] Fixture()
    {
        string header = FixtureJson;
        while (header.Length % 8 != 0) header += " ";
        return FileBytes(header, Concat(Floats(W), Ints(-3, 17), Doubles(Math.PI)));
    }

    [Fact]
    public void Reader_decodes_a_hand_built_file()
    {
        using var content = SafeTensorsReader.Parse(Fixture(), "fixture");
        Assert.Equal(["w", "idx", "s"], content.Names);
        Assert.Equal("pt", content.Metadata["format"]);
        Assert.Equal("7", content.Metadata["step"]);
        Assert.Equal(new Shape(2, 3), content["w"].Shape);
        Assert.Equal(DType.Float32, content["w"].DType);
        Assert.Equal(W, content["w"].ToArray<float>());
        Assert.Equal([-3, 17], content["idx"].ToArray<int>());
        Assert.Equal(0, content["s"].Rank);
        Assert.Equal(Math.PI, content["s"].Item());
    }

    [Fact]
    public void Writer_produces_exactly_the_specified_bytes()
    {
        string path = Path.Combine(_folder, "out.safetensors");
        using var w = Tensor.FromArray(W, 2, 3);
        using var idx = Tensor.FromArray(new[] { -3, 17 });
        using var s = Tensor.Scalar(Math.PI, DType.Float64);
        SafeTensorsWriter.Save(path, [new("w", w), new("idx", idx), new("s", s)],
            new Dictionary<string, string> { ["format"] = "pt", ["step"] = "7" });
        Assert.Equal(Fixture(), File.ReadAllBytes(path));
        Assert.Equal(0, BitConverter.ToInt64(File.ReadAllBytes(path), 0) % 8);
    }

    [Fact]
    public void Round_trip_keeps_values_shapes_dtypes_and_strided_views()
    {
        string path = Path.Combine(_folder, "rt.safetensors");
        var rng = new Random(3);
        var a = Enumerable.Range(0, 4 * 5 * 3).Select(_ => rng.NextDouble() * 10 - 5).ToArray();
        using var t64 = Tensor.FromDoubles(a, new Shape(4, 5, 3), DType.Float64);
        using var t32 = Tensor.FromDoubles(a.AsSpan(0, 20), new Shape(4, 5));
        using var transposed = t32.Transpose(0, 1);   // a strided view is written row-major
        using var empty = Tensor.Zeros(new Shape(0, 3));
        SafeTensorsWriter.Save(path, [new("a.b.c", t64), new("t", transposed), new("empty", empty)]);

        using var back = SafeTensorsReader.Load(path);
        Assert.Empty(back.Metadata);
        Assert.Equal(a, back["a.b.c"].ToArray<double>());
        Assert.Equal(new Shape(5, 4), back["t"].Shape);
        for (int i = 0; i < 5; i++)
            for (int j = 0; j < 4; j++)
                Assert.Equal((float)a[j * 5 + i], (float)back["t"][i, j]);
        Assert.Equal(new Shape(0, 3), back["empty"].Shape);
    }

    [Fact]
    public void Failed_write_leaves_the_old_file_intact_and_no_temporary()
    {
        string path = Path.Combine(_folder, "keep.safetensors");
        using var old = Tensor.FromArray(new float[] { 1, 2, 3 });
        SafeTensorsWriter.Save(path, [new("x", old)]);
        var before = File.ReadAllBytes(path);

        using var bigger = Tensor.FromArray(new float[] { 9, 9, 9, 9, 9 });
        SafeTensorsWriter.BeforeCommitForTests = _ => throw new IOException("simulated crash before rename");
        try
        {
            var e = Assert.Throws<IOException>(() => SafeTensorsWriter.Save(path, [new("x", bigger)]));
            Assert.Contains("simulated", e.Message);
        }
        finally { SafeTensorsWriter.BeforeCommitForTests = null; }

        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal([path], Directory.GetFiles(_folder));
    }

    [Fact]
    public void Successful_overwrite_replaces_the_file()
    {
        string path = Path.Combine(_folder, "over.safetensors");
        using var a = Tensor.FromArray(new float[] { 1 });
        using var b = Tensor.FromArray(new float[] { 2, 3 });
        SafeTensorsWriter.Save(path, [new("x", a)]);
        SafeTensorsWriter.Save(path, [new("x", b)]);
        using var back = SafeTensorsReader.Load(path);
        Assert.Equal([2f, 3f], back["x"].ToArray<float>());
        Assert.Single(Directory.GetFiles(_folder));
    }

    [Fact]
    public void The_folder_is_flushed_after_the_rename_on_linux()
    {
        if (!OperatingSystem.IsLinux()) return;
        Assert.True(DirectorySync.TryFlush(_folder));
        Assert.False(DirectorySync.TryFlush(Path.Combine(_folder, "missing")));
    }

    [Fact]
    public void Writer_rejects_bad_names_and_missing_folders()
    {
        using var x = Tensor.FromArray(new float[] { 1 });
        string path = Path.Combine(_folder, "bad.safetensors");
        Assert.Contains("twice", Assert.Throws<CheckpointException>(() => SafeTensorsWriter.Save(path, [new("x", x), new("x", x)])).Message);
        Assert.Contains("reserved", Assert.Throws<CheckpointException>(() => SafeTensorsWriter.Save(path, [new("__metadata__", x)])).Message);
        var missing = Path.Combine(_folder, "no-such-dir", "f.safetensors");
        Assert.Contains("does not exist", Assert.Throws<CheckpointException>(() => SafeTensorsWriter.Save(missing, [new("x", x)])).Message);
        Assert.False(File.Exists(path));
    }

    public static TheoryData<string, byte[], string> CorruptFiles()
    {
        byte[] four = Floats(1, 2, 3, 4);
        string ok = "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}";
        var headerTooLong = FileBytes(ok, four);
        BitConverter.GetBytes((ulong)(headerTooLong.Length)).CopyTo(headerTooLong, 0);
        var hugeHeader = FileBytes(ok, four);
        BitConverter.GetBytes(ulong.MaxValue / 2).CopyTo(hugeHeader, 0);
        var badUtf8 = FileBytes(ok, four);
        badUtf8[12] = 0xFF;
        return new TheoryData<string, byte[], string>
        {
            { "shorter than 8 bytes", [1, 2, 3], "fewer than the 8-byte" },
            { "header length past the end", headerTooLong, "runs past the end of the file" },
            { "absurd header length", hugeHeader, "exceeds" },
            { "not an object", FileBytes("[1,2,3]", []), "does not start with '{'" },
            { "invalid JSON", FileBytes("{\"a\":{\"dtype\":\"F32\",", four), "not valid JSON" },
            { "invalid UTF-8", badUtf8, "not valid UTF-8" },
            { "unknown dtype", FileBytes(ok.Replace("F32", "BF16"), four), "dtype 'BF16' is not supported" },
            { "shape disagrees with offsets", FileBytes(ok.Replace("[4]", "[5]"), four), "needs 20 bytes" },
            { "data truncated", FileBytes(ok, four[..12]), "run past the end of the data" },
            { "offsets end before begin", FileBytes(ok.Replace("[0,16]", "[16,0]"), four), "end before they begin" },
            { "overlap", FileBytes("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", four[..12]), "overlap tensor 'a'" },
            { "gap", FileBytes("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}}", four), "leave a gap" },
            { "trailing bytes", FileBytes(ok, Concat(four, [0, 0, 0, 0])), "trailing bytes" },
            { "duplicate name", FileBytes("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", four[..8]), "names 'a' twice" },
            { "missing dtype", FileBytes("{\"a\":{\"shape\":[4],\"data_offsets\":[0,16]}}", four), "tensor 'a': no dtype" },
            { "missing offsets", FileBytes("{\"a\":{\"dtype\":\"F32\",\"shape\":[4]}}", four), "no data_offsets" },
            { "negative dimension", FileBytes(ok.Replace("[4]", "[-4]"), four), "non-negative integers" },
            { "three offsets", FileBytes(ok.Replace("[0,16]", "[0,8,16]"), four), "must hold [begin, end]" },
            { "unknown field", FileBytes(ok.Replace("\"shape\"", "\"stride\":[1],\"shape\""), four), "unknown field 'stride'" },
            { "metadata not strings", FileBytes("{\"__metadata__\":{\"step\":3}," + ok[1..], four), "metadata 'step'" },
        };
    }

    [Theory]
    [MemberData(nameof(CorruptFiles))]
    public void Corrupt_files_raise_a_clear_error_naming_the_file(string why, byte[] file, string expected)
    {
        var e = Assert.Throws<CheckpointException>(() => SafeTensorsReader.Parse(file, "bad.safetensors"));
        Assert.Contains("'bad.safetensors'", e.Message);
        Assert.True(e.Message.Contains(expected, StringComparison.Ordinal), $"{why}: message was: {e.Message}");
    }

    [Fact]
    public void Missing_file_is_a_checkpoint_error_naming_the_path()
    {
        string path = Path.Combine(_folder, "nope.safetensors");
        var e = Assert.Throws<CheckpointException>(() => SafeTensorsReader.Load(path));
        Assert.Contains(path, e.Message);
    }
}
