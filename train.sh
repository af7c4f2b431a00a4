#!/usr/bin/env bash
# The main job: train DiffTORI on pendulum-swingup, a pure-managed environment (no native dependency),
# with the small quick-start networks of configs/quickstart.json. Seed 2 is the default because the
# first reward comes early with it: pendulum-swingup pays only within 8 degrees of upright, so an agent
# first earns something in an episode that starts near the top, and which episodes do is fixed by the
# seed alone (seed 2: episodes 2 and 7 start within 12 degrees of it; seed 3: none before episode 53). Arguments are passed on to
# `difftori rl train` and override the defaults below (later flags win), e.g.
#   ./train.sh --steps 100000 --seed 1 --agent tdmpc
#   ./train.sh --task cartpole-swingup --steps 16000   # a dense reward: rises on any seed within a minute
#   ./train.sh --resume --out runs/train-20261124-120000   # continue a killed run
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v dotnet >/dev/null 2>&1; then
  echo "train.sh: the .NET 10 SDK is required (https://learn.microsoft.com/dotnet/core/install/linux-debian)" >&2
  exit 1
fi

dotnet build cli -c Release --verbosity quiet -nologo >/dev/null
exec dotnet cli/bin/Release/net10.0/difftori.dll rl train \
  --task pendulum-swingup --agent difftori --steps 30000 --seed 2 \
  --config configs/quickstart.json --out "runs/train-$(date +%Y%m%d-%H%M%S)" "$@"
