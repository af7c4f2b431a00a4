// Regenerates the numbers in MuJoCoReference.cs (not part of the build or the tests).
//   gcc -O2 mujoco_probe.c -o probe -lmujoco -lm
//   ./probe ../shared/reference/dm_control_suite/cartpole.xml 100 1  0.1 3.0  0.2 -0.5
// Arguments: model, steps, control amplitude, qpos..., qvel...; prints compiled masses/inertias,
// dof_invweight0, and the state after steps 1-3 and every steps/4.
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <mujoco/mujoco.h>
// usage: probe model.xml nsteps q0.. v0.. ; ctrl_k_j = sin(0.37*k + 1.3*j) * amp
int main(int argc, char** argv){
  char err[1000];
  mjModel* m = mj_loadXML(argv[1], 0, err, 1000);
  if(!m){printf("%s\n",err);return 1;}
  mjData* d = mj_makeData(m);
  int n = atoi(argv[2]); double amp = atof(argv[3]);
  printf("nq %d nv %d nu %d dt %g integ %d\n", m->nq, m->nv, m->nu, m->opt.timestep, m->opt.integrator);
  for(int b=0;b<m->nbody;b++) printf("body %d mass %.17g I %.17g %.17g %.17g ipos %.17g %.17g %.17g\n", b, m->body_mass[b], m->body_inertia[3*b],m->body_inertia[3*b+1],m->body_inertia[3*b+2], m->body_ipos[3*b],m->body_ipos[3*b+1],m->body_ipos[3*b+2]);
  for(int i=0;i<m->nv;i++) printf("dof %d invweight0 %.17g damping %g armature %g\n", i, m->dof_invweight0[i], m->dof_damping[i], m->dof_armature[i]);
  int a=4;
  for(int i=0;i<m->nq;i++) d->qpos[i]=atof(argv[a++]);
  for(int i=0;i<m->nv;i++) d->qvel[i]=atof(argv[a++]);
  mj_forward(m,d);
  for(int k=0;k<n;k++){
    for(int j=0;j<m->nu;j++) d->ctrl[j] = amp*sin(0.37*k+1.3*j);
    mj_step(m,d);
    if(k<3 || (k+1)%(n/4)==0){ printf("step %d q", k+1); for(int i=0;i<m->nq;i++) printf(" %.17g", d->qpos[i]); printf(" v"); for(int i=0;i<m->nv;i++) printf(" %.17g", d->qvel[i]); printf(" nefc %d\n", d->nefc);}
  }
  return 0;
}
