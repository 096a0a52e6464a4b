#!/usr/bin/env bash
# free-device.sh N LINE: run LINE (one shell command line, such as a job line
# of `dlgn sweep --emit-jobs`) with DLGN_DEVICE set to the first of this
# machine's devices 0..N-1 that no other LINE started this way holds, so
# that N jobs at a time share N devices one each. GNU parallel's job slot
# ({%}) does that on one machine, but its slot numbers count across all the
# hosts of --sshlogin, so they do not name a device of the host a job lands
# on; this does (docs/sweeps.md):
#   parallel --sshlogin 2/gpu1,2/gpu2 --wd "$PWD" /path/to/free-device.sh 2 {} < w1
# Exit status: LINE's, or 75 when all N devices are held (run at most N jobs
# per host). The locks are files in $DLGN_LOCK_DIR (default /tmp).
set -uo pipefail
if [ $# -ne 2 ] || ! [[ $1 =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: free-device.sh N LINE (N devices, LINE a shell command line)" >&2
  exit 2
fi
n=$1
line=$2
locks=${DLGN_LOCK_DIR:-/tmp}
for ((d = 0; d < n; d++)); do
  # the lock is held while LINE runs and released when it exits, even killed
  DLGN_DEVICE=$d flock -n -E 75 "$locks/dlgn-device-$d.lock" bash -c "$line"
  rc=$?
  [ "$rc" -eq 75 ] || exit "$rc"
done
echo "free-device.sh: all $n devices of ${HOSTNAME:-this host} are held" >&2
exit 75
