# Shared settings of cluster/up.sh and cluster/down.sh (sourced, not run).
# Everything of the local single-node Slurm lives under $CLUSTER_DIR (default: <project>/.cluster, git-ignored):
#   slurm.conf             generated for this host by up.sh (clients need SLURM_CONF=$CLUSTER_DIR/slurm.conf)
#   munge/                 munge.key (0400), munged's pid, seed and log; owned by the munge user, 0700
#   munge-socket/          munged's socket (owner munge, 0755: clients must reach it)
#                          (these two under /run/coreface-munge-<hash> when the munge user cannot reach CLUSTER_DIR)
#   run/<daemon>.pid       the pids up.sh started (down.sh stops exactly these)
#   log/                   slurmctld.log, slurmd.log and the daemons' own stdout/stderr
#   state/ spool/          slurmctld's StateSaveLocation and slurmd's SlurmdSpoolDir
PROJECT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CLUSTER_DIR="${COREFACE_CLUSTER_DIR:-$PROJECT_ROOT/.cluster}"
SLURM_CONF_FILE="$CLUSTER_DIR/slurm.conf"
# munged runs as the munge user and must reach its key folder and socket: when the project lies below a folder that
# user cannot enter (/root, a 0700 temp folder), both go to /run/coreface-munge-<hash of CLUSTER_DIR> instead
# (COREFACE_MUNGE_HOME overrides either way).
munge_home() {
  if [ -n "${COREFACE_MUNGE_HOME:-}" ]; then echo "$COREFACE_MUNGE_HOME"; return; fi
  if id munge >/dev/null 2>&1 && ! setpriv --reuid=munge --regid=munge --clear-groups test -x "$(dirname "$CLUSTER_DIR")" 2>/dev/null; then
    echo "/run/coreface-munge-$(printf %s "$CLUSTER_DIR" | sha256sum | cut -c1-12)"
  else
    echo "$CLUSTER_DIR"
  fi
}
MUNGE_HOME="$(munge_home)"
MUNGE_DIR="$MUNGE_HOME/munge"
MUNGE_SOCKET="$MUNGE_HOME/munge-socket/munge.socket"
RUN_DIR="$CLUSTER_DIR/run"
LOG_DIR="$CLUSTER_DIR/log"
# Ports of slurmctld and slurmd (Slurm's defaults; change them when another Slurm runs on this machine).
SLURMCTLD_PORT="${COREFACE_SLURMCTLD_PORT:-6817}"
SLURMD_PORT="${COREFACE_SLURMD_PORT:-6818}"
NODE_NAME="$(hostname -s)"
# Daemons in start order (down.sh stops them in reverse).
DAEMONS=(munged slurmctld slurmd)

# The pid recorded for a daemon when that process is still alive and is that daemon, else nothing.
live_pid() {
  local file="$RUN_DIR/$1.pid" pid
  [ -f "$file" ] || return 1
  pid="$(cat "$file" 2>/dev/null || true)"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  [ -r "/proc/$pid/comm" ] || return 1
  # The pid must still be the daemon we started (pids are reused): compare the process name.
  [ "$(cat "/proc/$pid/comm")" = "$1" ] || return 1
  echo "$pid"
}

export_hint() {
  echo "  export SLURM_CONF=$SLURM_CONF_FILE"
}
