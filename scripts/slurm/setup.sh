#!/usr/bin/env bash
# A real one-node Slurm cluster on this machine, for the sweep test (test/slurm/) and for trying
# `mechedit sweep` locally: installs Debian's slurm-wlm and munge, writes /etc/slurm/slurm.conf
# (this machine's CPUs and memory, one partition "debug", select/cons_tres), creates the munge
# key and starts munged, slurmctld and slurmd. Idempotent: a cluster already up with the same
# slurm.conf is left as it is.
#
# Exit codes: 0 the cluster is up (`srun hostname` ran); 3 skipped, with the reason printed
# (not root, no apt-get, no Debian packages reachable); anything else: it failed (the reason printed).
#
# Works without systemd and without cgroups (containers): ProctrackType=proctrack/linuxproc
# (processes tracked by parent pid), TaskPlugin=task/none, no cgroup.conf.
set -euo pipefail

skip() { echo "slurm setup: skipped: $*"; exit 3; }
fail() { echo "slurm setup: FAILED: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || skip "not root (installing packages and starting slurmctld/slurmd needs root)"

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v munged >/dev/null || ! command -v sbatch >/dev/null; then
  command -v apt-get >/dev/null || skip "no apt-get (Slurm is installed from Debian's slurm-wlm and munge packages)"
  echo "slurm setup: apt-get install slurm-wlm munge"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends slurm-wlm munge >/tmp/mechedit-slurm-apt.log 2>&1; then
    apt-get update >>/tmp/mechedit-slurm-apt.log 2>&1 || skip "apt-get update failed: Debian's packages are not reachable (log: /tmp/mechedit-slurm-apt.log)"
    apt-get install -y --no-install-recommends slurm-wlm munge >>/tmp/mechedit-slurm-apt.log 2>&1 || fail "apt-get install slurm-wlm munge failed (log: /tmp/mechedit-slurm-apt.log)"
  fi
fi

host=$(hostname -s)
cpus=$(nproc)
# Leave 10 % of the memory to the system; slurmd refuses a node that claims more than it has.
mem_mb=$(free -m | awk '/^Mem:/ { printf "%d", $2 * 0.9 }')
conf_dir=/etc/slurm
mkdir -p "$conf_dir" /var/spool/slurmctld /var/spool/slurmd /var/log/slurm /run/slurm

conf=$(cat <<EOF
# Written by MechEdit's scripts/slurm/setup.sh: a one-node cluster for tests.
ClusterName=mechedit
SlurmctldHost=${host}(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurm/slurmctld.pid
SlurmdPidFile=/run/slurm/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
ReturnToService=2
JobRequeue=1
KillWait=10
MinJobAge=600
SlurmdTimeout=120
NodeName=${host} NodeAddr=127.0.0.1 CPUs=${cpus} RealMemory=${mem_mb} State=UNKNOWN
PartitionName=debug Nodes=${host} Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
)

up() { pgrep -x munged >/dev/null && pgrep -x slurmctld >/dev/null && pgrep -x slurmd >/dev/null; }

if up && [ -f "$conf_dir/slurm.conf" ] && [ "$(cat "$conf_dir/slurm.conf")" = "$conf" ]; then
  echo "slurm setup: already running with this slurm.conf"
else
  printf '%s\n' "$conf" >"$conf_dir/slurm.conf"
  # munge: the key (Debian's postinst makes one; a fresh container may not have run it), then the daemon as user munge.
  if [ ! -s /etc/munge/munge.key ]; then
    if command -v mungekey >/dev/null; then mungekey --create --keyfile=/etc/munge/munge.key --force; else dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none; fi
  fi
  chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
  mkdir -p /run/munge /var/log/munge /var/lib/munge && chown munge:munge /run/munge /var/log/munge /var/lib/munge
  if ! pgrep -x munged >/dev/null; then
    runuser -u munge -- /usr/sbin/munged || fail "munged did not start"
  fi
  munge -n | unmunge >/dev/null || fail "munge cannot encode and decode a credential"
  # Restart the Slurm daemons on the new slurm.conf (by the pids their pid files name).
  for d in slurmd slurmctld; do
    if [ -f "/run/slurm/$d.pid" ]; then kill "$(cat "/run/slurm/$d.pid")" 2>/dev/null || true; fi
  done
  for _ in $(seq 50); do pgrep -x slurmctld >/dev/null || pgrep -x slurmd >/dev/null || break; sleep 0.2; done
  /usr/sbin/slurmctld || fail "slurmctld did not start (see /var/log/slurm/slurmctld.log)"
  /usr/sbin/slurmd || fail "slurmd did not start (see /var/log/slurm/slurmd.log)"
fi

# Wait for the node to come up, and return it to service if an earlier run left it down.
for i in $(seq 60); do
  state=$(sinfo -h -n "$host" -o %t 2>/dev/null || true)
  case "$state" in
    idle* | mix* | alloc*) break ;;
    down* | drain* | drng*) scontrol update nodename="$host" state=resume >/dev/null 2>&1 || true ;;
  esac
  [ "$i" = 60 ] && fail "node $host did not come up (sinfo state: '${state:-none}'; see /var/log/slurm/)"
  sleep 1
done

out=$(timeout 60 srun -N1 -n1 --time=1 hostname) || fail "srun hostname failed"
echo "slurm setup: up — node ${host}, ${cpus} CPUs, ${mem_mb} MB; srun hostname → ${out}"
