#!/usr/bin/env bash
# The main job: train DiffTORI on cartpole-swingup, a pure-managed environment (no native dependency),
# with the small quick-start networks of configs/quickstart.json. Arguments are passed on to
# `difftori rl train` and override the defaults below (later flags win), e.g.
#   ./train.sh --steps 100000 --seed 2 --agent tdmpc
#   ./train.sh --resume --out runs/train-20261124-120000   # continue a killed run
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v dotnet >/dev/null 2>&1; then
  echo "train.sh: the .NET 10 SDK is required (https://learn.microsoft.com/dotnet/core/install/linux-debian)" >&2
  exit 1
fi

dotnet build cli -c Release --verbosity quiet -nologo >/dev/null
exec dotnet cli/bin/Release/net10.0/difftori.dll rl train \
  --task cartpole-swingup --agent difftori --steps 16000 --seed 1 \
  --config configs/quickstart.json --out "runs/train-$(date +%Y%m%d-%H%M%S)" "$@"
