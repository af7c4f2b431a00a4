using System.Diagnostics;
using System.Reflection;
using System.Text;
using DiffTori.Envs.MuJoCo;
using DiffTori.Envs.MuJoCo.Native;

namespace DiffTori.Envs.Tests.MuJoCo;

/// <summary>Checks every struct offset the binding uses against gcc's offsetof on the installed 2.2.2 headers.</summary>
public class MjLayoutTests
{
    [MuJoCoFact(needsCompiler: true)]
    public void EveryOffsetMatchesOffsetofFromTheHeaders()
    {
        var expected = new List<(string Struct, string Field, int Offset)>();
        foreach (var (type, cStruct) in new[] { (typeof(MjModelOffsets), "mjModel"), (typeof(MjDataOffsets), "mjData") })
            foreach (var f in type.GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral))
                expected.Add((cStruct, f.Name.StartsWith("opt_") ? "opt." + f.Name[4..] : f.Name, (int)f.GetRawConstantValue()!));
        Assert.True(expected.Count > 50, "the reflection should find all offset constants");

        var c = new StringBuilder("#include <stdio.h>\n#include <stddef.h>\n#include <mujoco/mujoco.h>\nint main(void){\n");
        foreach (var (s, field, _) in expected)
            c.Append($"  printf(\"%s %s %zu\\n\", \"{s}\", \"{field}\", offsetof({s}, {field}));\n");
        c.Append($"  printf(\"version %d\\n\", mjVERSION_HEADER);\n  return 0;\n}}\n");

        string output = CompileAndRun(c.ToString());
        var actual = output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(' ')).ToArray();
        Assert.Equal("222", actual.Single(p => p[0] == "version")[1]);
        var mismatches = new List<string>();
        foreach (var (s, field, offset) in expected)
        {
            int real = int.Parse(actual.Single(p => p[0] == s && p[1] == field)[2]);
            if (real != offset) mismatches.Add($"{s}.{field}: binding {offset}, header {real}");
        }
        Assert.True(mismatches.Count == 0, "offset mismatches:\n" + string.Join("\n", mismatches));
    }

    [MuJoCoFact]
    public void LibraryReportsVersion222AndLoadsAModel()
    {
        using var model = MjModel.FromXml("<mujoco><worldbody><body><joint type='slide' axis='0 0 1'/><geom size='0.1' mass='2'/></body></worldbody></mujoco>");
        Assert.Equal(1, model.Nq);
        Assert.Equal(2, model.NBody);
        Assert.Equal(0.002, model.Timestep, 15);
        Assert.Equal(2.0, model.BodyMass[1], 12);
        using var data = model.MakeData();
        // Free fall under gravity with semi-implicit Euler: after n steps v = -g n h exactly as MuJoCo integrates it.
        data.Forward();
        for (int i = 0; i < 100; i++) data.Step();
        Assert.Equal(-9.81 * 100 * 0.002, data.Qvel[0], 9);
        Assert.Equal(100 * 0.002, data.Time, 12);
    }

    [MuJoCoFact]
    public void BadXmlThrowsWithTheCompilerMessage()
    {
        var ex = Assert.Throws<InvalidDataException>(() => MjModel.FromXml("<mujoco><worldbody><geom type='nosuchtype'/></worldbody></mujoco>"));
        Assert.Contains("mj_loadXML", ex.Message);
        Assert.Contains("nosuchtype", ex.Message);
    }

    [MuJoCoFact]
    public void UnknownNameThrowsNamingIt()
    {
        using var model = MjModel.FromXml("<mujoco><worldbody><body name='b'><geom size='0.1'/></body></worldbody></mujoco>");
        Assert.Equal(1, model.GetId(MjObject.Body, "b"));
        Assert.Equal(-1, model.TryGetId(MjObject.Body, "nope"));
        var ex = Assert.Throws<KeyNotFoundException>(() => model.GetId(MjObject.Body, "nope"));
        Assert.Contains("nope", ex.Message);
    }

    [MuJoCoFact]
    public void DataOutlivesItsDisposedModelSafely()
    {
        var model = MjModel.FromXml("<mujoco><worldbody><body><joint type='hinge'/><geom size='0.1' pos='0 0 -1'/></body></worldbody></mujoco>");
        var data = model.MakeData();
        model.Dispose(); // the data keeps the native model alive until it is disposed itself
        data.Qpos[0] = 0.5;
        data.Step();
        Assert.True(double.IsFinite(data.Qpos[0]));
        data.Dispose();
    }

    private static string CompileAndRun(string source)
    {
        string dir = Directory.CreateTempSubdirectory("difftori-offsets-").FullName;
        try
        {
            string c = Path.Combine(dir, "offsets.c"), exe = Path.Combine(dir, "offsets");
            File.WriteAllText(c, source);
            Run("gcc", $"-O0 -o {exe} {c}", out _);
            Run(exe, "", out string stdout);
            return stdout;
        }
        finally { Directory.Delete(dir, true); }
    }

    private static void Run(string file, string args, out string stdout)
    {
        using var p = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        stdout = p.StandardOutput.ReadToEnd();
        string stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, $"{file} {args} failed ({p.ExitCode}): {stderr}");
    }
}
