namespace DiffTori.Envs.MuJoCo.Native;

// Byte offsets of the fields we read in MuJoCo 2.2.2's mjModel and mjData (x86-64 Linux, from
// /usr/include/mujoco/mjmodel.h and mjdata.h). The constant names spell the C field names
// ("opt_timestep" is opt.timestep) so that MjLayoutTests can ask gcc for offsetof(...) of each one
// and compare: a wrong offset would silently read garbage, so every constant here is checked.

/// <summary>Offsets into mjModel (MuJoCo 2.2.2).</summary>
internal static class MjModelOffsets
{
    // int sizes
    public const int nq = 0;
    public const int nv = 4;
    public const int nu = 8;
    public const int na = 12;
    public const int nbody = 16;
    public const int njnt = 20;
    public const int ngeom = 24;
    public const int nsite = 28;
    public const int nsensor = 124;
    public const int nsensordata = 224;

    // mjOption opt (inline struct)
    public const int opt_timestep = 232;     // mjtNum
    public const int opt_integrator = 432;   // int (mjtIntegrator)
    public const int opt_disableflags = 464; // int (mjtDisableBit)

    // pointers to arrays
    public const int qpos0 = 1096;              // mjtNum (nq)
    public const int body_parentid = 1112;      // int (nbody)
    public const int body_pos = 1208;           // mjtNum (nbody x 3)
    public const int body_quat = 1216;          // mjtNum (nbody x 4)
    public const int body_mass = 1240;          // mjtNum (nbody)
    public const int body_subtreemass = 1248;   // mjtNum (nbody)
    public const int jnt_type = 1280;           // int (njnt)
    public const int jnt_qposadr = 1288;        // int (njnt)
    public const int jnt_dofadr = 1296;         // int (njnt)
    public const int jnt_limited = 1320;        // mjtByte (njnt)
    public const int jnt_range = 1368;          // mjtNum (njnt x 2)
    public const int dof_damping = 1464;        // mjtNum (nv)
    public const int geom_type = 1488;          // int (ngeom)
    public const int geom_bodyid = 1520;        // int (ngeom)
    public const int geom_size = 1592;          // mjtNum (ngeom x 3)
    public const int geom_pos = 1608;           // mjtNum (ngeom x 3)
    public const int geom_quat = 1616;          // mjtNum (ngeom x 4)
    public const int site_bodyid = 1680;        // int (nsite)
    public const int site_size = 1712;          // mjtNum (nsite x 3)
    public const int site_pos = 1720;           // mjtNum (nsite x 3)
    public const int actuator_ctrllimited = 2744; // mjtByte (nu)
    public const int actuator_ctrlrange = 2792; // mjtNum (nu x 2)
    public const int actuator_gear = 2816;      // mjtNum (nu x 6)
    public const int sensor_type = 2864;        // int (nsensor)
    public const int sensor_dim = 2920;         // int (nsensor)
    public const int sensor_adr = 2928;         // int (nsensor)
}

/// <summary>Offsets into mjData (MuJoCo 2.2.2).</summary>
internal static class MjDataOffsets
{
    public const int ncon = 40332;            // int
    public const int time = 40336;            // mjtNum
    public const int energy = 40344;          // mjtNum[2] (inline)

    // pointers to arrays
    public const int qpos = 40376;            // nq
    public const int qvel = 40384;            // nv
    public const int act = 40392;             // na
    public const int qacc_warmstart = 40400;  // nv
    public const int ctrl = 40408;            // nu
    public const int qfrc_applied = 40416;    // nv
    public const int xfrc_applied = 40424;    // nbody x 6
    public const int qacc = 40448;            // nv
    public const int sensordata = 40472;      // nsensordata
    public const int xpos = 40480;            // nbody x 3
    public const int xquat = 40488;           // nbody x 4
    public const int xmat = 40496;            // nbody x 9
    public const int xipos = 40504;           // nbody x 3
    public const int xanchor = 40520;         // njnt x 3
    public const int geom_xpos = 40536;       // ngeom x 3
    public const int geom_xmat = 40544;       // ngeom x 9
    public const int site_xpos = 40552;       // nsite x 3
    public const int site_xmat = 40560;       // nsite x 9
    public const int subtree_com = 40600;     // nbody x 3
    public const int cvel = 40960;            // nbody x 6
}

/// <summary>Enum values from mjmodel.h that the binding uses.</summary>
internal static class MjConstants
{
    public const int ExpectedVersion = 222;
    public const int IntegratorEuler = 0;    // mjINT_EULER
    public const int IntegratorRk4 = 1;      // mjINT_RK4
    public const int DisableActuation = 1 << 10; // mjDSBL_ACTUATION
}
