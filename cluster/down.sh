#!/usr/bin/env bash
# `npm run cluster:down`: stops the single-node Slurm that cluster/up.sh started, and only that: first the jobs
# still in its queue (scancel, so no job step outlives the daemons), then slurmd, slurmctld and munged by the
# pids up.sh recorded in $CLUSTER_DIR/run/ (each checked to still be that daemon: pids are reused). Nothing is
# killed by name. Idempotent: with nothing running it says so and exits 0. The generated files (slurm.conf, the
# munge key, logs) stay in $CLUSTER_DIR for the next `up`; delete that folder to start from scratch.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
export PATH="$PATH:/usr/sbin:/sbin"

say() { echo "cluster:down: $*"; }

if live_pid slurmctld >/dev/null && [ -f "$SLURM_CONF_FILE" ]; then
  export SLURM_CONF="$SLURM_CONF_FILE"
  jobs="$(squeue -h -o %A 2>/dev/null | sort -u | tr '\n' ' ' || true)"
  if [ -n "${jobs// /}" ]; then
    say "cancelling the jobs still queued or running: $jobs"
    # shellcheck disable=SC2086
    scancel $jobs 2>/dev/null || true
    for _ in $(seq 40); do
      [ -z "$(squeue -h -o %A 2>/dev/null)" ] && break
      sleep 0.5
    done
  fi
fi

stopped=0
for (( i=${#DAEMONS[@]}-1; i>=0; i-- )); do
  d="${DAEMONS[$i]}"
  if pid=$(live_pid "$d"); then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 40); do
      [ -d "/proc/$pid" ] || break
      sleep 0.25
    done
    if [ -d "/proc/$pid" ]; then
      say "$d (pid $pid) did not stop within 10 s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    say "stopped $d (pid $pid)"
    stopped=$((stopped + 1))
  fi
  rm -f "$RUN_DIR/$d.pid"
done
[ "$stopped" -gt 0 ] || say "nothing to stop (no daemon started by cluster/up.sh is running)"
