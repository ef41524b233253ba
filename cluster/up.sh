#!/usr/bin/env bash
# `npm run cluster:up`: a real single-node Slurm on this machine (controller and compute node), for running the
# project's job array (docs/cluster/ablate.sbatch) and its test (test/cluster/slurm.test.ts). See docs/cluster.md.
#
#  1. Installs the Debian packages slurm-wlm (slurmctld, slurmd, slurm-client) and munge when missing: as root
#     with apt-get, otherwise it prints the exact command and exits 1.
#  2. Writes $CLUSTER_DIR/slurm.conf for this host: one node (CPUs = nproc, RealMemory from `slurmd -C`), one
#     partition, ProctrackType=proctrack/linuxproc, TaskPlugin=task/none, no accounting database, state, spool,
#     logs and pid files under $CLUSTER_DIR (default <project>/.cluster; COREFACE_CLUSTER_DIR overrides).
#  3. Creates a munge key (owner munge, mode 0400, in a 0700 folder) and starts munged on a private socket, then
#     slurmctld -D and slurmd -D, directly (PID 1 is not systemd here), in the background, each pid recorded in
#     $CLUSTER_DIR/run/<daemon>.pid; cluster/down.sh stops exactly those pids.
#  4. Waits for the node to be idle and checks `sinfo` and `srun hostname`.
#
# Idempotent: daemons already running (their recorded pid alive and still that daemon) are left alone, so a
# second `up` only checks. Clients need SLURM_CONF=$CLUSTER_DIR/slurm.conf (printed at the end).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

say() { echo "cluster:up: $*"; }
die() { echo "cluster:up: $*" >&2; exit 1; }

# --- 1. packages ---------------------------------------------------------------------------------------------
PACKAGES=(slurm-wlm munge)
missing_tools=()
for t in slurmctld slurmd sbatch srun sinfo squeue scancel scontrol munged munge unmunge; do
  command -v "$t" >/dev/null 2>&1 || [ -x "/usr/sbin/$t" ] || missing_tools+=("$t")
done
if [ "${#missing_tools[@]}" -gt 0 ]; then
  cmd=(apt-get install -y --no-install-recommends "${PACKAGES[@]}")
  if [ "$(id -u)" -ne 0 ]; then
    say "missing: ${missing_tools[*]} (Debian packages ${PACKAGES[*]}); run as root:"
    echo "  sudo apt-get update && sudo ${cmd[*]}"
    exit 1
  fi
  command -v apt-get >/dev/null 2>&1 || die "missing ${missing_tools[*]} and no apt-get: install Slurm (slurmctld, slurmd, client) and munge yourself"
  # Never run apt-get while another apt-get/dpkg runs (shared machines): wait up to 10 minutes.
  for _ in $(seq 600); do
    pgrep -x apt-get >/dev/null || pgrep -x dpkg >/dev/null || break
    sleep 1
  done
  say "installing ${PACKAGES[*]} (missing: ${missing_tools[*]})"
  DEBIAN_FRONTEND=noninteractive "${cmd[@]}" || { apt-get update && DEBIAN_FRONTEND=noninteractive "${cmd[@]}"; }
fi
export PATH="$PATH:/usr/sbin:/sbin"
if [ "$(id -u)" -ne 0 ]; then
  die "the daemons must be started as root (slurmd runs jobs as their users; munged runs as the munge user): sudo npm run cluster:up"
fi
id munge >/dev/null 2>&1 || die "no 'munge' user: the Debian package munge creates it (apt-get install --reinstall munge)"

mkdir -p "$CLUSTER_DIR" "$RUN_DIR" "$LOG_DIR" "$CLUSTER_DIR/state" "$CLUSTER_DIR/spool"
chmod 0755 "$CLUSTER_DIR"

# A port another process listens on makes a daemon fail late and obscurely: say so first.
port_free() {
  ! ss -Hltn "sport = :$1" 2>/dev/null | grep -q .
}

# Starts a daemon in the background (its own session, output to log/<name>.out) and records its pid.
start_daemon() {
  local name="$1"; shift
  setsid "$@" </dev/null >>"$LOG_DIR/$name.out" 2>&1 &
  echo $! >"$RUN_DIR/$name.pid"
  say "started $name (pid $!)"
}

wait_for() { # wait_for SECONDS DESCRIPTION CMD...
  local secs="$1" what="$2"; shift 2
  for _ in $(seq $((secs * 4))); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.25
  done
  die "$what did not happen within ${secs}s (logs: $LOG_DIR, $MUNGE_DIR/munged.log)"
}

# --- 2. munge ------------------------------------------------------------------------------------------------
if pid=$(live_pid munged); then
  say "munged already running (pid $pid)"
else
  install -d -m 0700 -o munge -g munge "$MUNGE_DIR"
  install -d -m 0755 -o munge -g munge "$(dirname "$MUNGE_SOCKET")"
  if [ ! -s "$MUNGE_DIR/munge.key" ]; then
    if command -v mungekey >/dev/null 2>&1 || [ -x /usr/sbin/mungekey ]; then
      mungekey --create --keyfile="$MUNGE_DIR/munge.key" --force
    else
      dd if=/dev/urandom of="$MUNGE_DIR/munge.key" bs=1024 count=1 status=none
    fi
    say "created munge key $MUNGE_DIR/munge.key"
  fi
  chown munge:munge "$MUNGE_DIR/munge.key"
  chmod 0400 "$MUNGE_DIR/munge.key"
  rm -f "$MUNGE_SOCKET" "$MUNGE_SOCKET.lock"
  # setpriv execs munged as the munge user, so $! is munged's own pid.
  start_daemon munged setpriv --reuid=munge --regid=munge --init-groups \
    munged --foreground --key-file="$MUNGE_DIR/munge.key" --socket="$MUNGE_SOCKET" \
    --pid-file="$MUNGE_DIR/munged.pid" --seed-file="$MUNGE_DIR/munged.seed" --log-file="$MUNGE_DIR/munged.log"
  wait_for 10 "munged answering on $MUNGE_SOCKET" bash -c "munge -n -S '$MUNGE_SOCKET' | unmunge -S '$MUNGE_SOCKET'"
  [ "$MUNGE_HOME" = "$CLUSTER_DIR" ] || say "munge key and socket under $MUNGE_HOME (the munge user cannot enter $(dirname "$CLUSTER_DIR"))"
fi

# --- 3. slurm.conf and slurmctld -----------------------------------------------------------------------------
if pid=$(live_pid slurmctld); then
  say "slurmctld already running (pid $pid)"
else
  port_free "$SLURMCTLD_PORT" || die "port $SLURMCTLD_PORT (slurmctld) is in use by another process; set COREFACE_SLURMCTLD_PORT"
  cpus="$(nproc)"
  mem="$(slurmd -C 2>/dev/null | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' | head -1)"
  [ -n "$mem" ] || mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 ))
  cat >"$SLURM_CONF_FILE" <<CONF
# Generated by cluster/up.sh on $(date -u +%Y-%m-%dT%H:%M:%SZ) for host $NODE_NAME: a single-node Slurm
# (controller and compute node) for coreface-lab. Regenerated whenever slurmctld is (re)started by up.sh.
ClusterName=coreface
SlurmctldHost=$NODE_NAME(127.0.0.1)
SlurmctldPort=$SLURMCTLD_PORT
SlurmdPort=$SLURMD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET
# No systemd and no cgroup setup on these machines: track job processes by parent pid, no task binding.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
# No accounting database (slurmdbd): no sacct; jobs are followed with squeue and their output files.
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
StateSaveLocation=$CLUSTER_DIR/state
SlurmdSpoolDir=$CLUSTER_DIR/spool
SlurmctldPidFile=$RUN_DIR/slurmctld.pid
SlurmdPidFile=$RUN_DIR/slurmd.pid
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
ReturnToService=2
MailProg=/bin/true
KillWait=5
MinJobAge=600
MaxArraySize=1001
NodeName=$NODE_NAME NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
  say "wrote $SLURM_CONF_FILE (node $NODE_NAME, CPUs=$cpus, RealMemory=${mem} MB)"
  start_daemon slurmctld slurmctld -D -f "$SLURM_CONF_FILE"
fi
export SLURM_CONF="$SLURM_CONF_FILE"
wait_for 30 "slurmctld answering (scontrol ping)" bash -c "scontrol ping | grep -q 'is UP'"

# --- 4. slurmd -----------------------------------------------------------------------------------------------
if pid=$(live_pid slurmd); then
  say "slurmd already running (pid $pid)"
else
  port_free "$SLURMD_PORT" || die "port $SLURMD_PORT (slurmd) is in use by another process; set COREFACE_SLURMD_PORT"
  start_daemon slurmd slurmd -D -f "$SLURM_CONF_FILE" -N "$NODE_NAME"
fi
# A node left down/drained by an earlier unclean stop is returned to service.
state="$(sinfo -h -n "$NODE_NAME" -o %T 2>/dev/null || true)"
case "$state" in
  *drain*|*down*) scontrol update NodeName="$NODE_NAME" State=RESUME >/dev/null 2>&1 || true ;;
esac
wait_for 60 "node $NODE_NAME idle or in use (sinfo)" bash -c "sinfo -h -n '$NODE_NAME' -o %T | grep -Eq '^(idle|mixed|allocated)'"

# --- 5. checks -----------------------------------------------------------------------------------------------
for d in "${DAEMONS[@]}"; do
  live_pid "$d" >/dev/null || die "$d is not running (see $LOG_DIR/$d.out)"
done
sinfo
out="$(timeout 60 srun -N1 -n1 -t 1 hostname)" || die "srun hostname failed (logs: $LOG_DIR)"
say "srun hostname -> $out"
say "up: munged $(live_pid munged), slurmctld $(live_pid slurmctld), slurmd $(live_pid slurmd); for sbatch/squeue/sinfo:"
export_hint
