#!/usr/bin/env bash
# Runs a command in its own session and fails if it leaves anything behind:
#   - processes: anything still alive in the command's session after it exits (killed, listed);
#   - descriptors: framebench shared memory (/memfd:framebench*) still open in any process that
#     did not hold it before (on a shared machine another run's may show up: CI runs alone);
#   - names: new /dev/shm/framebench-* entries, new framebench-ring-* / framebench-run-*
#     directories in $TMPDIR (socket files of rings, run directories).
# Usage: scripts/leak-check.sh <command> [args...]     e.g. scripts/leak-check.sh npm test
# Exit: the command's status if it failed, else 3 when something leaked, else 0.
set -uo pipefail
if [ $# -eq 0 ]; then
  echo "usage: scripts/leak-check.sh <command> [args...]" >&2
  exit 2
fi
tmp="${TMPDIR:-/tmp}"
work="$(mktemp -d "$tmp/fb-leakcheck-XXXXXX")"
trap 'rm -rf "$work"' EXIT

names() {
  ls /dev/shm 2>/dev/null | grep '^framebench-' | sed 's#^#/dev/shm/#'
  ls -d "$tmp"/framebench-ring-* "$tmp"/framebench-run-* 2>/dev/null
}
memfds() {
  find /proc/[0-9]*/fd -maxdepth 1 -lname '/memfd:framebench*' -printf '%h %l\n' 2>/dev/null | sed -E 's#^/proc/([0-9]+)/fd #pid \1 #'
}

names | sort >"$work/names.before"
memfds | sort -u >"$work/memfds.before"

# setsid: the command and everything it starts share one session id, the pid of this child
setsid --wait bash -c 'echo $$ >"$0"; exec "$@"' "$work/sid" "$@"
status=$?
sid="$(cat "$work/sid" 2>/dev/null || echo 0)"
sleep 1 # let exiting children go

leaked=0
if [ "$sid" -gt 0 ]; then
  left="$(ps -eo pid=,sid=,args= | awk -v s="$sid" '$2 == s && $1 != s')"
  if [ -n "$left" ]; then
    echo "leak-check: processes left in the command's session:" >&2
    echo "$left" >&2
    echo "$left" | awk '{print $1}' | while read -r p; do kill -9 "$p" 2>/dev/null; done
    leaked=1
  fi
fi
memfds | sort -u >"$work/memfds.after"
new_fds="$(comm -13 "$work/memfds.before" "$work/memfds.after")"
if [ -n "$new_fds" ]; then
  echo "leak-check: framebench shared-memory descriptors still open (pid, target):" >&2
  echo "$new_fds" >&2
  leaked=1
fi
names | sort >"$work/names.after"
new_names="$(comm -13 "$work/names.before" "$work/names.after")"
if [ -n "$new_names" ]; then
  echo "leak-check: files left behind:" >&2
  echo "$new_names" >&2
  leaked=1
fi
if [ "$status" -ne 0 ]; then exit "$status"; fi
if [ "$leaked" -ne 0 ]; then exit 3; fi
echo "leak-check: no processes, descriptors or files left behind" >&2
exit 0
