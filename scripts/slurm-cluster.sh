#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, private to one folder, for the
# tests and for trying examples/slurm/ without a real cluster:
#
#   scripts/slurm-cluster.sh start DIR      # prints `export SLURM_CONF=DIR/slurm.conf`
#   scripts/slurm-cluster.sh status DIR
#   scripts/slurm-cluster.sh stop DIR
#   scripts/slurm-cluster.sh run DIR -- COMMAND…   # start, run COMMAND with SLURM_CONF set, stop
#
# It installs Debian's Slurm (slurmctld, slurmd, the client commands) and
# MUNGE when they are missing, then writes everything under DIR: its own
# MUNGE key and socket, slurm.conf (controller and node daemon on 127.0.0.1,
# on two free ports, the node's CPUs and memory from `slurmd -C`), state,
# spool and logs. Nothing in /etc is read or changed, so several clusters
# (parallel tests) run side by side. The daemons run in the foreground of
# background processes (no systemd needed) whose process ids are kept in
# DIR/pids; `stop` ends those, and `start` stops what it started when it fails.
set -euo pipefail

usage() {
    echo "usage: $0 start|status|stop DIR, or $0 run DIR -- COMMAND…" >&2
    exit 2
}
[ $# -ge 2 ] || usage
action=$1
dir=$2
shift 2

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
say() { echo "slurm-cluster: $*" >&2; }

# Debian's packages, installed when a command is missing (what scripts/setup.sh does too).
install_slurm() {
    if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null \
        && command -v munged >/dev/null; then
        return
    fi
    say "installing Debian's slurmctld, slurmd, slurm-client and munge"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        slurmctld slurmd slurm-client munge >/dev/null
}

# A TCP port nothing on 127.0.0.1 answers on.
free_port() {
    local port
    for _ in $(seq 50); do
        port=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return
        fi
    done
    say "no free TCP port found on 127.0.0.1"
    return 1
}

write_config() {
    local node cpus controller_port node_port user
    node=$(hostname -s)
    # `slurmd -C` prints this machine as a NodeName line: keep its sizes, drop the uptime.
    cpus=$(slurmd -C | head -n1 | sed -e 's/^NodeName=[^ ]* //' -e 's/ *UpTime=.*//')
    controller_port=$(free_port)
    node_port=$(free_port)
    while [ "$node_port" = "$controller_port" ]; do node_port=$(free_port); done
    user=$(id -un)
    cat >"$dir/slurm.conf" <<EOF
# One-node cluster written by scripts/slurm-cluster.sh; everything lives in $dir.
ClusterName=stackgan-eval-test
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$controller_port
SlurmdPort=$node_port
SlurmUser=$user
SlurmdUser=$user
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket
CredType=cred/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool/%n
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SlurmdTimeout=30
InactiveLimit=0
# A job whose dependency can no longer be met (a failed array task) is cancelled, not left pending.
SchedulerParameters=kill_invalid_depend,sched_interval=1
MinJobAge=600
NodeName=$node NodeAddr=127.0.0.1 $cpus State=UNKNOWN
PartitionName=local Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
}

# Starts DAEMON… in the background with its output in DIR/log/NAME.out.
launch() {
    local name=$1
    shift
    "$@" </dev/null >"$dir/log/$name.out" 2>&1 &
    echo "$name $!" >>"$dir/pids"
}

# The daemon NAME's last words, for a failure message.
last_lines() {
    local name=$1 file
    for file in "$dir/log/$name.log" "$dir/log/$name.out"; do
        [ -s "$file" ] && { echo "--- $file (last lines)"; tail -n 15 "$file"; }
    done
    return 0
}

# Fails, naming DAEMON and showing its log, unless its process still runs.
check_alive() {
    local name=$1 pid
    pid=$(awk -v n="$name" '$1 == n { print $2 }' "$dir/pids")
    if ! kill -0 "$pid" 2>/dev/null; then
        say "$name did not start (or died); its log:"
        last_lines "$name" >&2
        return 1
    fi
}

start() {
    if [ -e "$dir/pids" ]; then
        say "$dir already holds a cluster (DIR/pids exists): stop it first ($0 stop $dir)"
        return 1
    fi
    install_slurm
    mkdir -p "$dir"/{munge,state,spool,run,log}
    chmod 700 "$dir" "$dir/munge"
    dir=$(cd "$dir" && pwd)
    : >"$dir/pids"
    # From here on, a failure stops what was started.
    trap stop_if_failed EXIT
    trap 'exit 130' INT TERM

    if command -v mungekey >/dev/null; then
        mungekey --create --keyfile="$dir/munge/munge.key" 2>/dev/null
    else
        dd if=/dev/urandom of="$dir/munge/munge.key" bs=1024 count=1 status=none
    fi
    chmod 600 "$dir/munge/munge.key"
    launch munged munged --foreground --force --socket="$dir/munge/munge.socket" \
        --key-file="$dir/munge/munge.key" --pid-file="$dir/run/munged.pid" \
        --log-file="$dir/log/munged.log" --seed-file="$dir/munge/munged.seed"
    wait_for "munged" 10 test -S "$dir/munge/munge.socket"

    write_config
    export SLURM_CONF=$dir/slurm.conf
    launch slurmctld slurmctld -D -i -f "$SLURM_CONF"
    wait_for "slurmctld" 30 scontrol ping
    launch slurmd slurmd -D -f "$SLURM_CONF" -N "$(hostname -s)"
    wait_for "slurmd" 60 node_idle
    say "one-node cluster up in $dir ($(sinfo -h -N -o '%N, %c CPUs, %m MB, %T'))"
    echo "export SLURM_CONF=$SLURM_CONF"
    trap - EXIT INT TERM
}

stop_if_failed() {
    local code=$?
    [ "$code" = 0 ] || { say "start failed; stopping what was started"; stop_daemons; }
}

node_idle() { sinfo -h -N -o %T 2>/dev/null | grep -qx idle; }

# Waits up to SECONDS for CHECK… to pass while DAEMON runs.
wait_for() {
    local name=$1 seconds=$2
    shift 2
    local deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        check_alive "$name"
        if [ $SECONDS -ge $deadline ]; then
            say "$name is running but not ready after ${seconds}s; its log:"
            last_lines "$name" >&2
            return 1
        fi
        sleep 0.2
    done
}

# Cancels the jobs, then ends the daemons of DIR/pids.
stop_daemons() {
    [ -e "$dir/pids" ] || return 0
    if [ -e "$dir/slurm.conf" ] && awk '$1 == "slurmctld" { print $2 }' "$dir/pids" | xargs -r kill -0 2>/dev/null; then
        SLURM_CONF=$dir/slurm.conf scancel --quiet --user="$(id -un)" 2>/dev/null || true
        local deadline=$((SECONDS + 10))
        while [ -n "$(SLURM_CONF=$dir/slurm.conf squeue -h 2>/dev/null)" ] && [ $SECONDS -lt $deadline ]; do
            sleep 0.2
        done
    fi
    # All at once: each takes about two seconds to shut down.
    local name pid
    while read -r name pid; do kill -TERM "$pid" 2>/dev/null || true; done <"$dir/pids"
    while read -r name pid; do
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "$pid" 2>/dev/null; then
            say "$name (pid $pid) ignored SIGTERM for 10 s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done <"$dir/pids"
    rm -f "$dir/pids"
}

status() {
    if [ ! -e "$dir/pids" ]; then
        echo "no cluster in $dir"
        return 1
    fi
    local name pid state=0
    while read -r name pid; do
        if kill -0 "$pid" 2>/dev/null; then echo "$name: running (pid $pid)"; else echo "$name: NOT running (pid $pid)"; state=1; fi
    done <"$dir/pids"
    SLURM_CONF=$dir/slurm.conf sinfo -N || state=1
    return $state
}

case $action in
start) start ;;
stop) stop_daemons ;;
status) status ;;
run)
    [ "${1:-}" = -- ] || usage
    shift
    [ $# -gt 0 ] || usage
    start >/dev/null
    dir=$(cd "$dir" && pwd)
    trap 'stop_daemons' EXIT
    trap 'exit 130' INT TERM
    SLURM_CONF=$dir/slurm.conf "$@"
    ;;
*) usage ;;
esac
