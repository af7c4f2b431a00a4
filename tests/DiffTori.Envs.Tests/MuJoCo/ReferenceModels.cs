using System.Xml.Linq;
using DiffTori.Envs.MuJoCo;

namespace DiffTori.Envs.Tests.MuJoCo;

/// <summary>
/// Loads a dm_control reference model as the suite's task code builds it. Most load as they are; quadruped
/// walk/run edit the file first (PROVENANCE.md): floor half-size 20·v (v = 0.5 walk), and no walls, terrain,
/// ball, target site or rangefinders.
/// </summary>
public static class ReferenceModels
{
    public static MjPhysics Load(string file, double quadrupedFloorSize = 10)
    {
        string path = TestPaths.Reference(file);
        if (file != "quadruped.xml") return MjPhysics.FromFile(path);

        var doc = XDocument.Load(path);
        var named = (string kind, string name) =>
            doc.Descendants(kind).Single(e => (string?)e.Attribute("name") == name);
        string size = quadrupedFloorSize.ToString(System.Globalization.CultureInfo.InvariantCulture);
        named("geom", "floor").SetAttributeValue("size", $"{size} {size} .5");
        foreach (string wall in new[] { "wall_px", "wall_py", "wall_nx", "wall_ny", "terrain" }) named("geom", wall).Remove();
        named("body", "ball").Remove();
        named("site", "target").Remove();
        foreach (var rangefinder in doc.Descendants("rangefinder").ToList()) rangefinder.Remove();

        // Includes resolve relative to the model file: write the edited file beside a copy of common/.
        string dir = Directory.CreateTempSubdirectory("difftori-ref-").FullName;
        try
        {
            string common = Path.Combine(dir, "common");
            Directory.CreateDirectory(common);
            foreach (string f in Directory.GetFiles(Path.Combine(Path.GetDirectoryName(path)!, "common")))
                File.Copy(f, Path.Combine(common, Path.GetFileName(f)));
            string edited = Path.Combine(dir, file);
            doc.Save(edited);
            return MjPhysics.FromFile(edited);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
