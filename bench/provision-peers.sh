#!/usr/bin/env bash
# Provisions the benchmark's peers into the same versioned cache test/env/provision.sh uses, from the
# registries this machine reaches (Go module proxy, PyPI, Maven Central via the hadoop classpath).
# Each component is skipped when its stamp matches the pinned version, so a warm run costs nothing.
#
#   bash bench/provision-peers.sh                 # all peers
#   bash bench/provision-peers.sh rclone s5cmd    # only these
#
# Go builds run one at a time under `nice`: the machine has 2 cores shared with other work.
# A peer that cannot be obtained is reported as "unavailable" and does not fail the others; the
# bench then shows that peer's rows as missing instead of silently dropping them.
set -uo pipefail

RCLONE_VERSION=v1.75.1
S5CMD_VERSION=v2.3.0
WARP_VERSION=v1.3.1
AWSCLI_VERSION=1.45.11
CACHE_LAYOUT=v1

CACHE_ROOT="${DATASYNC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/datasync-env}/$CACHE_LAYOUT"
BIN="$CACHE_ROOT/bin"
PEERS="$CACHE_ROOT/peers"
mkdir -p "$BIN" "$PEERS" "$CACHE_ROOT/logs"

line() { printf 'provision-peers: %-12s %s\n' "$1" "$2"; }
built() { [ -f "$BIN/.$1.stamp" ] && [ "$(cat "$BIN/.$1.stamp")" = "$2" ]; }
stamp() { echo "$2" >"$BIN/.$1.stamp"; }
failed=()

# Logs go to a file; on failure the tail is printed so the reason is visible without digging.
run_logged() { # run_logged NAME CMD...
  local name=$1; shift
  local log="$CACHE_ROOT/logs/peer-$name.log"
  if ! "$@" >"$log" 2>&1; then
    echo "provision-peers: $name failed; last lines of $log:" >&2
    tail -n 15 "$log" >&2
    return 1
  fi
}

go_install_peer() { # NAME MODULE VERSION BINARY
  local name=$1 module=$2 version=$3 binary=$4
  if built "$name" "$version" && [ -x "$BIN/$binary" ]; then line "$name" "$version cached"; return; fi
  command -v go >/dev/null || { line "$name" "unavailable: go not installed"; failed+=("$name"); return; }
  # A known failure (e.g. the checksum database refusing the module) is not retried on every bench
  # run; PEERS_RETRY=1 tries again.
  if [ -z "${PEERS_RETRY:-}" ] && [ -f "$BIN/.$name.failed" ] && [ "$(cat "$BIN/.$name.failed")" = "$version" ]; then
    line "$name" "unavailable ($version failed before; PEERS_RETRY=1 to retry)"; failed+=("$name"); return
  fi
  local t0=$SECONDS dir="$CACHE_ROOT/build/peer-$name-$version"
  mkdir -p "$dir"
  # A wrapper module instead of `go install module@version`: the proxy here refuses /@v/list
  # (403), which `go install` reads to check for deprecation and then fails. Building the pinned
  # requirement from a wrapper needs only /@v/<version> files.
  printf 'module datasync.dev/peerbuild\n\ngo 1.26.0\n\nrequire %s %s\n' "$module" "$version" >"$dir/go.mod"
  printf 'package tools\n\nimport _ "%s"\n' "$module" >"$dir/tools.go"
  if (cd "$dir" && CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local \
      run_logged "$name" nice -n 10 go build -trimpath -ldflags "-s -w" -o "$BIN/$binary" "$module"); then
    stamp "$name" "$version"
    line "$name" "$version built in $((SECONDS - t0))s"
  else
    echo "$version" >"$BIN/.$name.failed"
    line "$name" "unavailable (go build $module@$version failed)"; failed+=("$name")
  fi
}

# A venv in the cache, so the bench does not depend on whatever aws happens to be on PATH.
pip_peer() { # NAME SPEC PROBE_BINARY
  local name=$1 spec=$2 probe=$3 venv="$PEERS/venv-$1"
  if built "$name" "$spec" && [ -x "$venv/bin/$probe" ]; then line "$name" "$spec cached"; return; fi
  command -v python3 >/dev/null || { line "$name" "unavailable: python3 missing"; failed+=("$name"); return; }
  local t0=$SECONDS
  rm -rf "$venv"
  if run_logged "$name" python3 -m venv "$venv" && run_logged "$name" "$venv/bin/pip" install -q "$spec" \
      && [ -x "$venv/bin/$probe" ]; then
    ln -sf "$venv/bin/$probe" "$BIN/$probe"
    stamp "$name" "$spec"
    line "$name" "$spec installed in $((SECONDS - t0))s"
  else
    line "$name" "unavailable (pip install $spec failed; see $CACHE_ROOT/logs/peer-$name.log)"; failed+=("$name")
  fi
}

# pydistcp (PyPI) is a WebHDFS-based distcp from 2016. Record whether it installs and what it ships.
provision_pydistcp() {
  local venv="$PEERS/venv-pydistcp"
  if [ -f "$BIN/.pydistcp.stamp" ] && [ -z "${PEERS_RETRY:-}" ]; then line pydistcp "$(cat "$BIN/.pydistcp.stamp") (cached)"; return; fi
  rm -rf "$venv"
  if run_logged pydistcp python3 -m venv "$venv" && run_logged pydistcp "$venv/bin/pip" install pydistcp; then
    local bin; bin=$(ls "$venv/bin" | grep -i distcp | head -1)
    stamp pydistcp "installed:${bin:-no-entry-point}"
    [ -n "$bin" ] && ln -sf "$venv/bin/$bin" "$BIN/pydistcp"
    line pydistcp "installed (${bin:-no entry point})"
  else
    stamp pydistcp "failed:$(grep -m1 -E 'fatal error|^ERROR' "$CACHE_ROOT/logs/peer-pydistcp.log" | sed 's/^ *//' | cut -c1-160)"
    line pydistcp "does not install (reason in $CACHE_ROOT/logs/peer-pydistcp.log)"
  fi
}

# DistCp needs no build: hadoop-distcp and hadoop-aws ride on the classpath provision.sh resolves.
provision_distcp() {
  local cp; cp=$(ls "$CACHE_ROOT"/hadoop-*/classpath.txt 2>/dev/null | head -1)
  if [ -z "$cp" ]; then
    bash "$(dirname "$0")/../test/env/provision.sh" hadoop || { line distcp "unavailable (hadoop classpath)"; failed+=(distcp); return; }
    cp=$(ls "$CACHE_ROOT"/hadoop-*/classpath.txt | head -1)
  fi
  if grep -q hadoop-distcp "$cp" && grep -q hadoop-aws "$cp"; then line distcp "classpath $cp"
  else line distcp "unavailable: $cp lacks hadoop-distcp/hadoop-aws"; failed+=(distcp); fi
}

all=(rclone s5cmd warp awscli distcp pydistcp)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
for t in "${targets[@]}"; do
  case "$t" in
    rclone) go_install_peer rclone github.com/rclone/rclone "$RCLONE_VERSION" rclone ;;
    s5cmd) go_install_peer s5cmd github.com/peak/s5cmd/v2 "$S5CMD_VERSION" s5cmd ;;
    warp) go_install_peer warp github.com/minio/warp "$WARP_VERSION" warp ;;
    awscli) pip_peer awscli "awscli==$AWSCLI_VERSION" aws ;;
    distcp) provision_distcp ;;
    pydistcp) provision_pydistcp ;;
    *) echo "provision-peers: unknown peer '$t' (known: ${all[*]})" >&2; exit 2 ;;
  esac
done
# The bench reads this file to find the peers and their versions. (printf over an empty list
# still prints its format once, which listed a peer named "" as failed.)
failed_json=""
for f in "${failed[@]}"; do failed_json+="${failed_json:+, }\"$f\""; done
cat >"$CACHE_ROOT/peers.json" <<JSON
{"bin": "$BIN", "rclone": "$RCLONE_VERSION", "s5cmd": "$S5CMD_VERSION", "warp": "$WARP_VERSION", "awscli": "$AWSCLI_VERSION", "failed": [$failed_json]}
JSON
[ ${#failed[@]} -eq 0 ] || line summary "unavailable: ${failed[*]}"
exit 0
