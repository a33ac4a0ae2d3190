#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, to run scripts/slurm/grid.sbatch for real: installs
# slurm-wlm and munge from the Debian packages (as root), writes a minimal slurm.conf, starts
# munged, slurmctld and slurmd as plain daemons (no systemd), submits a grid as an array of 4
# shards plus the dependent merge job, waits for both, and compares the merged files and report
# byte for byte with the same grid run on one machine. The daemons it started are stopped on
# every exit; on failure the slurmctld and slurmd logs are printed.
#
#   bash scripts/slurm-local.sh [path/to/precision-audit]
#
# SLURM_LOCAL_GRID=full runs the README's whole grid (`--loss relative --grid
# eps=1e-8,1e-6,1e-4,1e-2 --seeds 8`, 100 epochs) instead of the short one CI runs.
# Exit 0 when the merged result is byte-identical to the single-machine run, 1 otherwise.
# SLURM_LOCAL_KEEP=1 keeps the working directory (configuration, logs, outputs) for a look.
set -euo pipefail
cd "$(dirname "$0")/.."
started=$(date +%s)

bin="$(realpath "${1:-target/release/precision-audit}")"
# The README's grid; by default shortened (3 seeds, 20 epochs) so that CI stays short.
flags=(--loss relative --grid eps=1e-8,1e-6,1e-4,1e-2 --seeds 3 --epochs 20)
if [ "${SLURM_LOCAL_GRID:-short}" = full ]; then
    flags=(--loss relative --grid eps=1e-8,1e-6,1e-4,1e-2 --seeds 8)
fi
shards=4
timeout_seconds=${SLURM_LOCAL_TIMEOUT:-240}

work="$(mktemp -d /tmp/slurm-local.XXXXXX)"
state="$work/state"
logs="$work/logs"
mkdir -p "$state/ctld" "$state/d" "$logs"
chmod 755 "$work"
pids=()

say() { echo "slurm-local: $*"; }

show_logs() {
    for log in "$logs"/slurmctld.log "$logs"/slurmd.log "$work"/munge/munged.log "$work"/out/*.log; do
        [ -f "$log" ] || continue
        echo "----- $log (last 40 lines)"
        tail -n 40 "$log"
    done
}

stop_daemons() {
    # Only the daemons this script started, by their process ids.
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$pid" 2>/dev/null || true
    done
}

finish() {
    status=$?
    stop_daemons
    if [ "$status" -ne 0 ]; then
        say "FAILED (exit $status)"
        show_logs
    fi
    [ -n "${SLURM_LOCAL_KEEP:-}" ] && say "kept $work" || rm -rf "$work"
    exit "$status"
}
trap finish EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ "$(id -u)" -ne 0 ]; then
    say "must run as root (it installs packages and starts daemons)"
    exit 1
fi
[ -x "$bin" ] || { say "no binary at $bin (cargo build --release)"; exit 1; }

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    say "installing slurm-wlm and munge"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        slurm-wlm munge >/dev/null
fi
say "packages ready after $(($(date +%s) - started)) s"

# Leftovers of an earlier run that ended without cleaning up would hold the ports.
for daemon in slurmctld slurmd munged; do
    if pgrep -x "$daemon" >/dev/null; then
        say "a $daemon is already running (pid $(pgrep -x "$daemon" | tr '\n' ' ')); stop it first"
        exit 1
    fi
done

# munge: a key, and the daemon on a private socket.
mkdir -p /etc/munge "$work/munge"
if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
fi
chown -R munge:munge /etc/munge "$work/munge" 2>/dev/null || true
chmod 700 /etc/munge
chmod 400 /etc/munge/munge.key
socket="$work/munge/munge.socket"
runuser -u munge -- /usr/sbin/munged --socket="$socket" --pid-file="$work/munge/munged.pid" \
    --log-file="$work/munge/munged.log" --seed-file="$work/munge/munged.seed"
pids+=("$(cat "$work/munge/munged.pid")")

host="$(hostname -s)"
conf="$work/slurm.conf"
cat >"$conf" <<CONF
ClusterName=local
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$socket
CryptoType=crypto/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SlurmctldPort=16817
SlurmdPort=16818
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/d
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$logs/slurmctld.log
SlurmdLogFile=$logs/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
MinJobAge=600
NodeName=$host CPUs=2 State=UNKNOWN
PartitionName=local Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$conf"

slurmctld -f "$conf" -i
for _ in $(seq 50); do [ -s "$work/slurmctld.pid" ] && break; sleep 0.1; done
pids+=("$(cat "$work/slurmctld.pid")")
slurmd -f "$conf"
for _ in $(seq 50); do [ -s "$work/slurmd.pid" ] && break; sleep 0.1; done
pids+=("$(cat "$work/slurmd.pid")")

# Wait until the node is idle.
for _ in $(seq 100); do
    state_now="$(sinfo -h -N -o '%T' 2>/dev/null || true)"
    [ "$state_now" = "idle" ] && break
    sleep 0.2
done
[ "$state_now" = "idle" ] || { say "the node is '$state_now', not idle"; exit 1; }
say "cluster up after $(($(date +%s) - started)) s (node $host: $state_now)"

out="$work/out"
ids="$(PRECISION_AUDIT="$bin" bash scripts/slurm/grid.sbatch "$out" "$shards" "${flags[@]}")"
read -r array merge <<<"$ids"
say "submitted array job $array ($shards shards) and merge job $merge"

deadline=$(($(date +%s) + timeout_seconds))
while [ -n "$(squeue -h -j "$array,$merge" 2>/dev/null)" ]; do
    if [ "$(date +%s)" -gt "$deadline" ]; then
        say "timed out after $timeout_seconds s waiting for the jobs"
        squeue
        exit 1
    fi
    sleep 0.5
done
for job in "$array" "$merge"; do
    job_states="$(scontrol -o show job "$job" | grep -o 'JobState=[A-Z_]*' | sort -u | tr '\n' ' ')"
    say "job $job: $job_states"
    if [ "$job_states" != "JobState=COMPLETED " ]; then
        say "job $job did not complete"
        exit 1
    fi
done

"$bin" "${flags[@]}" --csv "$out/single" >"$out/single.txt"
diff -r "$out/single" "$out/merged"
cmp "$out/single.txt" "$out/merged.txt"
say "merged shards are byte-identical to the single-machine run ($(ls "$out/merged" | wc -l) files and the report)"
cat "$out/merged.txt"
say "total $(($(date +%s) - started)) s"
