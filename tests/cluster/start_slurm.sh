#!/usr/bin/env bash
# Bring up a single-node SLURM cluster on this machine (Debian, as root, no systemd), for the
# SLURM end-to-end test. Idempotent: returns at once when the cluster already answers.
#   tests/cluster/start_slurm.sh [STATE_DIR]     start (daemons' PIDs go to STATE_DIR/*.pid)
#   tests/cluster/start_slurm.sh --stop [STATE_DIR]
# The config must live at /etc/slurm/slurm.conf: the executor plugin's job step strips SLURM_*
# variables, so a private SLURM_CONF would make jobs die.
set -euo pipefail

STOP=0
if [[ "${1:-}" == "--stop" ]]; then STOP=1; shift; fi
STATE=${1:-/tmp/hmr-slurm}
mkdir -p "$STATE"

stop() {
    for name in slurmd slurmctld munged; do
        if [[ -f "$STATE/$name.pid" ]]; then
            kill "$(cat "$STATE/$name.pid")" 2>/dev/null || true
            rm -f "$STATE/$name.pid"
        fi
    done
}
if [[ $STOP == 1 ]]; then stop; exit 0; fi

[[ $(id -u) == 0 ]] || { echo "start_slurm.sh: needs root" >&2; exit 2; }
[[ -f /etc/debian_version ]] || { echo "start_slurm.sh: needs Debian (apt)" >&2; exit 2; }

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q --no-install-recommends slurmctld slurmd slurm-client munge >"$STATE/apt.log" 2>&1 \
        || { apt-get update -q >>"$STATE/apt.log" 2>&1 &&
             apt-get install -y -q --no-install-recommends slurmctld slurmd slurm-client munge >>"$STATE/apt.log" 2>&1; } \
        || { echo "start_slurm.sh: apt-get install failed, see $STATE/apt.log" >&2; exit 3; }
fi

wait_idle() {  # the node must be free for the test's jobs, not merely answering
    for _ in $(seq 1 "$1"); do
        if sinfo -h -o %T 2>/dev/null | grep -qE "^idle"; then return 0; fi
        sleep 0.5
    done
    return 1
}
if sinfo -h -o %T 2>/dev/null | grep -qE "idle|mixed|allocated"; then
    # a cluster already answers: if it is this script's, cancel jobs left by an earlier run
    if grep -q '^ClusterName=hmr-test$' /etc/slurm/slurm.conf 2>/dev/null; then
        squeue -h -o %i | xargs -r scancel
        scontrol update nodename=localhost state=resume 2>/dev/null || true
    fi
    wait_idle 60 && exit 0
    echo "start_slurm.sh: a SLURM cluster answers but its node is not idle: $(sinfo -h -o '%T %E')" >&2
    exit 4
fi

if [[ -f /etc/slurm/slurm.conf ]] && ! grep -q '^ClusterName=hmr-test$' /etc/slurm/slurm.conf; then
    echo "start_slurm.sh: /etc/slurm/slurm.conf belongs to another SLURM setup (not ClusterName=hmr-test); not overwriting it" >&2
    exit 5
fi

# nproc honours OMP_NUM_THREADS (the test suite sets it to 1): a node of 1 CPU could never run
# a 2-thread rule, whose job would stay pending for ever
CPUS=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)
MEM=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 1024 ))
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/munge
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=hmr-test
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=$STATE/slurmctld.pidfile
SlurmdPidFile=$STATE/slurmd.pidfile
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
MinJobAge=300
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
NodeName=localhost CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF

# munge: a key, then the daemon as the munge user
if [[ ! -s /etc/munge/munge.key ]]; then
    mkdir -p /etc/munge
    dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
fi
chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge 2>/dev/null || true
chmod 0700 /etc/munge; chmod 0400 /etc/munge/munge.key
# only a munged started here is recorded (and so stopped by --stop); one already running is left alone
rm -f "$STATE/munged.pid"
if ! pgrep -x munged >/dev/null; then
    su -s /bin/sh munge -c "/usr/sbin/munged --force"
    for _ in $(seq 1 20); do pgrep -x munged >/dev/null && break; sleep 0.2; done
    pgrep -x munged | head -1 > "$STATE/munged.pid"
fi

# -c: a fresh controller every start. Recovered state could hold jobs of an earlier, killed run that
# still "allocate" the only node, so a new job would stay pending for ever.
rm -rf /var/spool/slurmd/*
nohup slurmctld -D -c -i >"$STATE/slurmctld.out" 2>&1 &
echo $! > "$STATE/slurmctld.pid"
nohup slurmd -D -N localhost >"$STATE/slurmd.out" 2>&1 &
echo $! > "$STATE/slurmd.pid"

wait_idle 60 && exit 0
echo "start_slurm.sh: the cluster did not come up; see $STATE/slurmctld.out, $STATE/slurmd.out and /var/log/slurm/" >&2
exit 4
