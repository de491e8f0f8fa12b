#!/usr/bin/env bash
# A real one-node SLURM cluster for `make slurm-test`: Debian's slurm-wlm (22.05), munge, slurmdbd and
# MariaDB, with accounting, its daemons started as plain processes (no systemd) and stopped by pid.
#
#   tests/slurm/cluster.sh start    # installs the packages when missing (as root), writes the config, starts
#   tests/slurm/cluster.sh stop     # stops every daemon it started, by the pid each wrote
#   tests/slurm/cluster.sh env      # the SLURM_CONF line the commands need
#
# Everything lives in GLEE_SLURM_DIR (default /tmp/glee-slurm): slurm.conf, slurmdbd.conf, state, logs,
# pid files, and MariaDB's own data. Root only: slurmd runs jobs as their users, and the daemons run
# as root here. No password anywhere: slurmdbd reaches MariaDB as root over its Unix socket.
set -euo pipefail

DIR=${GLEE_SLURM_DIR:-/tmp/glee-slurm}
PACKAGES=(slurm-wlm slurmdbd munge mariadb-server)
export SLURM_CONF="$DIR/slurm.conf"

wait_for() {  # wait_for SECONDS WHAT COMMAND...: until COMMAND succeeds
    local limit=$1 what=$2
    shift 2
    for _ in $(seq "$((limit * 5))"); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 0.2
    done
    echo "cluster.sh: $what did not come up within $limit s" >&2
    for log in "$DIR"/log/* "$DIR/mysql/error.log"; do echo "--- $log" >&2; tail -n 5 "$log" >&2 || true; done
    return 1
}

install() {
    local missing=()
    for p in "${PACKAGES[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
    if (( ${#missing[@]} )); then
        [[ $(id -u) == 0 ]] || { echo "cluster.sh: as root: apt-get install ${missing[*]}" >&2; exit 1; }
        echo "== installing ${missing[*]}"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

configure() {
    mkdir -p "$DIR"/{state,spool,log,run,mysql}
    local host node mem
    host=$(hostname -s)
    # slurmd -C: this node's NodeName line (CPUs, sockets, cores, threads, RealMemory) as slurmd sees it.
    node=$(slurmd -C | head -n 1)
    mem=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$node")
    node=$(sed "s/RealMemory=[0-9]*/RealMemory=$((mem * 9 / 10))/" <<<"$node")
    cat >"$DIR/slurm.conf" <<EOF
ClusterName=glee
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=512
ReturnToService=2
KillWait=5
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/run/slurmctld.pid
SlurmdPidFile=$DIR/run/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
$node State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
    cat >"$DIR/slurmdbd.conf" <<EOF
AuthType=auth/munge
DbdHost=localhost
SlurmUser=root
PidFile=$DIR/run/slurmdbd.pid
LogFile=$DIR/log/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=root
StorageLoc=glee_slurm_acct
EOF
    chmod 600 "$DIR/slurmdbd.conf"
}

start() {
    install
    if [[ -s $DIR/run/slurmctld.pid ]] && kill -0 "$(cat "$DIR/run/slurmctld.pid")" 2>/dev/null \
        && sacct -n -X --starttime=now-1minutes >/dev/null 2>&1; then
        echo "== SLURM already up (stop it with: $0 stop)"
        return 0
    fi
    configure
    if [[ ! -s /etc/munge/munge.key ]]; then mungekey --create --keyfile=/etc/munge/munge.key; fi
    chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
    mkdir -p /run/munge && chown munge:munge /run/munge
    if ! munge -n >/dev/null 2>&1; then
        runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid </dev/null >>"$DIR/log/munged.out" 2>&1
        cp /run/munge/munged.pid "$DIR/run/munged.pid"
    fi
    wait_for 10 munged munge -n

    if [[ ! -d "$DIR/mysql/mysql" ]]; then
        mariadb-install-db --user=mysql --datadir="$DIR/mysql" --auth-root-authentication-method=socket \
            >"$DIR/log/mariadb-install.log" 2>&1
    fi
    chown -R mysql:mysql "$DIR/mysql"
    mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
    # As a plain background process, its output in a log (so that no caller waits on our stdout).
    nohup mariadbd --user=mysql --datadir="$DIR/mysql" --socket=/run/mysqld/mysqld.sock --skip-networking \
        --pid-file=/run/mysqld/glee-mariadb.pid --log-error="$DIR/mysql/error.log" </dev/null >>"$DIR/log/mariadb.out" 2>&1 &
    wait_for 60 MariaDB mariadb --socket=/run/mysqld/mysqld.sock -e "SELECT 1"
    cp /run/mysqld/glee-mariadb.pid "$DIR/run/mariadb.pid"  # mariadbd runs as mysql, which cannot write $DIR/run

    slurmdbd </dev/null >>"$DIR/log/slurmdbd.out" 2>&1
    wait_for 30 slurmdbd sacctmgr -n list cluster
    sacctmgr -i add cluster glee >/dev/null 2>&1 || true
    slurmctld </dev/null >>"$DIR/log/slurmctld.out" 2>&1
    wait_for 30 slurmctld scontrol ping
    slurmd </dev/null >>"$DIR/log/slurmd.out" 2>&1
    wait_for 30 "the node" bash -c "sinfo -h -o %T | grep -qE '^(idle|mixed|allocated)'"
    wait_for 30 accounting sacct -n -X --starttime=now-1minutes
    echo "== SLURM up: $(sinfo -h -o '%P %D %c %m %T'); SLURM_CONF=$SLURM_CONF"
}

stop() {
    for daemon in slurmd slurmctld slurmdbd mariadb munged; do
        local pidfile="$DIR/run/$daemon.pid"
        [[ -s $pidfile ]] || continue
        local pid
        pid=$(cat "$pidfile")
        if kill "$pid" 2>/dev/null; then
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
            kill -9 "$pid" 2>/dev/null || true
        fi
        rm -f "$pidfile"
    done
    echo "== SLURM stopped"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    env) echo "SLURM_CONF=$SLURM_CONF" ;;
    *) echo "usage: $0 start|stop|env" >&2; exit 2 ;;
esac
