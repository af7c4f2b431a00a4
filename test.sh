#!/usr/bin/env bash
# The test command: installs what the tests need when it is missing, builds, runs every test project,
# and ends with one summary line "Tests: N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")"

if ! command -v dotnet >/dev/null 2>&1; then
  echo "test.sh: the .NET 10 SDK is required (https://learn.microsoft.com/dotnet/core/install/linux-debian)" >&2
  exit 1
fi

# MuJoCo 2.2.2 for the envs tests (they skip with a clear reason when it is absent); its headers let the
# binding's struct-offset test compile its C probe.
if ! ldconfig -p 2>/dev/null | grep -q 'libmujoco.so.2.2.2' || [ ! -f /usr/include/mujoco/mujoco.h ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "test.sh: installing libmujoco2.2.2 and libmujoco-dev"
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libmujoco2.2.2 libmujoco-dev) >/dev/null \
      || echo "test.sh: could not install libmujoco2.2.2; MuJoCo tests will skip" >&2
  else
    echo "test.sh: libmujoco2.2.2 is missing; MuJoCo tests will skip (install: sudo apt-get install libmujoco2.2.2 libmujoco-dev)" >&2
  fi
fi

dotnet restore DiffTori.sln --verbosity quiet || exit 1
dotnet build DiffTori.sln -c Release --no-restore --verbosity quiet -nologo || exit 1

log=$(mktemp)
dotnet test DiffTori.sln -c Release --no-build --nologo --verbosity quiet --logger "console;verbosity=minimal" "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# dotnet test prints one line per test assembly ("Passed!  - Failed: 0, Passed: 10, Skipped: 0, ...").
summary=$(grep -E '(Passed|Failed)! +- +Failed: ' "$log" | sed -E 's/.*Failed: +([0-9]+), Passed: +([0-9]+), Skipped: +([0-9]+).*/\1 \2 \3/' |
  awk '{f+=$1; p+=$2; s+=$3} END {printf "Tests: %d passed, %d failed, %d skipped\n", p, f, s}')
rm -f "$log"
echo "$summary"
exit "$status"
