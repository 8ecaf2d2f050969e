#!/usr/bin/env bash
# System packages the test suite needs beyond npm: Chromium (capture, live mode, HTML report test),
# redis-server (the redis transport) and perf (flame graphs). Runs before `npm test`; installs what
# is missing when it can (root + apt-get), otherwise says which command to run.
set -u
# The one list of system packages the suite needs (.ci/run calls this script too).
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v perf >/dev/null 2>&1 || need+=(linux-perf)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "framebench: installing ${need[*]} (apt-get)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null && exit 0
  echo "framebench: apt-get install ${need[*]} failed; the tests that need them will fail with their error codes" >&2
  exit 0
fi
echo "framebench: missing ${need[*]}; install with: sudo apt-get install -y ${need[*]}" >&2
exit 0
