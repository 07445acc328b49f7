# Sourced by scripts/dev-farm and scripts/cluster: finding cifs's programs,
# telling whether a daemon runs, picking ports and build uids.

find_bin() {  # find_bin NAME: $CIFS_BIN_DIR, next to this script, the build tree ($CIFS_BUILD_DIR), PATH
  local name=$1 here
  here=$(cd "$(dirname "${BASH_SOURCE[1]:-$0}")" && pwd)  # the script that asks
  local build=${CIFS_BUILD_DIR:-$here/../build}
  for c in "${CIFS_BIN_DIR:-}/$name" "$here/$name" "$build/farmserver/$name" "$build/client/$name"; do
    if [[ -x $c && ! -d $c ]]; then echo "$c"; return 0; fi
  done
  command -v "$name" || { echo "${0##*/}: cannot find $name (build cifs first: cmake --build build)" >&2; exit 1; }
}

running_pid() {  # prints the farm's pid if it runs
  local dir=$1
  [[ -f $dir/farmserver.pid ]] || return 1
  local pid
  pid=$(cat "$dir/farmserver.pid")
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 1
  # A killed farm may linger as a zombie until it is reaped: that is not running.
  [[ $(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) != Z ]] || return 1
  echo "$pid"
}

random_uid_range() {  # 100 uids from 900000 up, at random
  local first=$((900000 + (RANDOM * 32768 + RANDOM) % 30000 * 100))
  echo "$first-$((first + 99))"
}

low_free_port() {
  python3 - <<'PY'
import random, socket
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
for _ in range(200):
    port = random.randrange(20000, max(20001, low))
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        print(port)
        break
    except OSError:
        pass
    finally:
        s.close()
else:
    print(0)
PY
}

