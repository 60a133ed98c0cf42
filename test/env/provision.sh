#!/usr/bin/env bash
# Provisions the real servers the tests run against, from the registries this machine reaches
# (Go module proxy, Maven Central, npm). Everything lands in a versioned cache directory outside
# the clone, so a fresh clone on the same machine reuses it; each component is skipped when built.
#
#   bash test/env/provision.sh            # all components
#   bash test/env/provision.sh minio helm # only these
#
# Prints one line per component. A missing prerequisite fails at once with what to install.
set -euo pipefail

K8S_VERSION=v1.35.4
ETCD_VERSION=v3.6.16
MINIO_VERSION=v0.0.0-20260212201848-7aac2a2c5b7c
FAKE_GCS_VERSION=v1.56.1
HELM_VERSION=v3.21.4
HADOOP_VERSION=3.4.2
# Bump when the layout of the cache changes; versions above are part of each component's path.
CACHE_LAYOUT=v1

CACHE_ROOT="${DATASYNC_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/datasync-env}/$CACHE_LAYOUT"
BIN="$CACHE_ROOT/bin"
mkdir -p "$BIN" "$CACHE_ROOT/build" "$CACHE_ROOT/logs"

die() { echo "provision: $*" >&2; exit 1; }
need() { # need CMD HOW
  command -v "$1" >/dev/null 2>&1 || die "missing prerequisite '$1': $2"
}
line() { printf 'provision: %-24s %s\n' "$1" "$2"; }

# Build logs go to a file; on failure print its tail so the reason is visible without digging.
run_logged() { # run_logged NAME CMD...
  local name=$1; shift
  local log="$CACHE_ROOT/logs/$name.log"
  if ! "$@" >"$log" 2>&1; then
    echo "provision: $name failed; last lines of $log:" >&2
    tail -n 30 "$log" >&2
    exit 1
  fi
}

# A stamp file records the exact version built, so a version bump rebuilds and nothing else does.
built() { [ -f "$BIN/.$1.stamp" ] && [ "$(cat "$BIN/.$1.stamp")" = "$2" ]; }
stamp() { echo "$2" >"$BIN/.$1.stamp"; }

go_env() {
  need go "install Go 1.25 or newer (apt-get install golang, or from go.dev)"
  export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local
  # Fail fast instead of hanging when the module proxy does not answer.
  if ! curl -sf -m 20 -o /dev/null "${GOPROXY_CHECK:-https://proxy.golang.org/k8s.io/kubernetes/@v/$K8S_VERSION.info}"; then
    [ -d "$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes" ] || die "the Go module proxy does not answer (checked with curl); provisioning needs it"
  fi
}

provision_kubernetes() {
  local key="$K8S_VERSION"
  if built kubernetes "$key" && [ -x "$BIN/kube-apiserver" ] && [ -x "$BIN/kube-controller-manager" ]; then
    line kubernetes "$K8S_VERSION cached"; return
  fi
  go_env
  local t0=$SECONDS dir="$CACHE_ROOT/build/kubernetes-$K8S_VERSION"
  mkdir -p "$dir"
  # k8s.io/kubernetes replaces its staging modules with local paths, which 'go install' refuses.
  # A wrapper module requires it and points every staging module at its published v0.X.Y tag.
  local staging_version="v0.${K8S_VERSION#v1.}"
  curl -sf -m 60 "https://proxy.golang.org/k8s.io/kubernetes/@v/$K8S_VERSION.mod" -o "$dir/upstream.mod" \
    || die "cannot fetch k8s.io/kubernetes $K8S_VERSION go.mod from the Go module proxy"
  {
    echo "module datasync.dev/k8sbuild"
    echo
    echo "go 1.25.0"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    grep -E '^\s+k8s\.io/[a-z0-9-]+ => \./staging/' "$dir/upstream.mod" \
      | awk -v v="$staging_version" '{print "\t" $1 " => " $1 " " v}'
    echo ")"
  } >"$dir/go.mod"
  local minor="${K8S_VERSION#v1.}"; minor="${minor%%.*}"
  local ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION"
  (cd "$dir" && run_logged kubernetes go build -tags selinux,notest -trimpath -ldflags "$ldflags" -o "$BIN/" \
      k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager)
  stamp kubernetes "$key"
  line kubernetes "$K8S_VERSION built in $((SECONDS - t0))s"
}

provision_etcd() {
  if built etcd "$ETCD_VERSION" && [ -x "$BIN/etcd" ]; then line etcd "$ETCD_VERSION cached"; return; fi
  go_env
  local t0=$SECONDS dir="$CACHE_ROOT/build/etcd-$ETCD_VERSION"
  mkdir -p "$dir"
  # etcd's own main module carries replace lines; a three-line main over etcdmain builds cleanly.
  cat >"$dir/go.mod" <<GOMOD
module datasync.dev/etcdbuild

go 1.25.0

require go.etcd.io/etcd/server/v3 $ETCD_VERSION
GOMOD
  cat >"$dir/main.go" <<'GOMAIN'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GOMAIN
  (cd "$dir" && run_logged etcd go build -trimpath -ldflags "-s -w" -o "$BIN/etcd" .)
  stamp etcd "$ETCD_VERSION"
  line etcd "$ETCD_VERSION built in $((SECONDS - t0))s"
}

go_install_tool() { # go_install_tool NAME MODULE VERSION BINARY
  local name=$1 module=$2 version=$3 binary=$4
  if built "$name" "$version" && [ -x "$BIN/$binary" ]; then line "$name" "$version cached"; return; fi
  go_env
  local t0=$SECONDS
  GOBIN="$BIN" run_logged "$name" go install -trimpath -ldflags "-s -w" "$module@$version"
  stamp "$name" "$version"
  line "$name" "$version built in $((SECONDS - t0))s"
}

provision_minio() { go_install_tool minio github.com/minio/minio "$MINIO_VERSION" minio; }
provision_fakegcs() { go_install_tool fake-gcs-server github.com/fsouza/fake-gcs-server "$FAKE_GCS_VERSION" fake-gcs-server; }
provision_helm() { go_install_tool helm helm.sh/helm/v3/cmd/helm "$HELM_VERSION" helm; }

provision_hadoop() {
  local out="$CACHE_ROOT/hadoop-$HADOOP_VERSION"
  if [ -s "$out/classpath.txt" ]; then line hadoop "$HADOOP_VERSION classpath cached"; return; fi
  need java "install a JDK 11 or newer (apt-get install openjdk-17-jdk-headless)"
  need mvn "install Maven (apt-get install maven)"
  local t0=$SECONDS
  mkdir -p "$out"
  # hadoop-distcp and hadoop-aws ride along for the benchmark's DistCp peer.
  cat >"$out/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.datasync</groupId><artifactId>hadoop-env</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>org.apache.hadoop</groupId><artifactId>hadoop-minicluster</artifactId><version>$HADOOP_VERSION</version></dependency>
    <dependency><groupId>org.apache.hadoop</groupId><artifactId>hadoop-distcp</artifactId><version>$HADOOP_VERSION</version></dependency>
    <dependency><groupId>org.apache.hadoop</groupId><artifactId>hadoop-aws</artifactId><version>$HADOOP_VERSION</version></dependency>
  </dependencies>
</project>
POM
  (cd "$out" && run_logged hadoop mvn -B -q dependency:build-classpath -Dmdep.outputFile="$out/classpath.tmp")
  mv "$out/classpath.tmp" "$out/classpath.txt"
  line hadoop "$HADOOP_VERSION classpath resolved in $((SECONDS - t0))s"
}

# Node 24 and Azurite come from npm (the `node` and `azurite` devDependencies): checked, not built.
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
provision_node() {
  local node="$REPO_ROOT/node_modules/.bin/node"
  [ -x "$node" ] || node="$(command -v node || true)"
  [ -n "$node" ] || die "missing prerequisite 'node': run 'npm ci' in $REPO_ROOT (installs Node 24 as the 'node' devDependency)"
  local v; v="$("$node" --version)"
  local major="${v#v}"; major="${major%%.*}"
  [ "$major" -ge 22 ] || die "Node $v is too old (22+ needed): run 'npm ci' in $REPO_ROOT, which installs Node 24 into node_modules/.bin"
  line node "$v ($node)"
}
provision_azurite() {
  local bin="$REPO_ROOT/node_modules/.bin/azurite-blob"
  [ -x "$bin" ] || die "missing azurite: run 'npm ci' in $REPO_ROOT (azurite is a devDependency)"
  line azurite "$(node -p "require('$REPO_ROOT/node_modules/azurite/package.json').version" 2>/dev/null || echo present) (npm)"
}
provision_tools() {
  need openssl "install openssl (apt-get install openssl); the control plane's certificates are made with it"
  need java "install a JDK 11 or newer (apt-get install openjdk-17-jdk-headless); the HDFS MiniCluster runs on it"
  line tools "openssl, java present"
}

all=(node azurite tools etcd kubernetes minio fakegcs helm hadoop)
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${all[@]}")
t_start=$SECONDS
for t in "${targets[@]}"; do
  case "$t" in
    node|azurite|tools|etcd|kubernetes|minio|fakegcs|helm|hadoop) "provision_$t" ;;
    *) die "unknown component '$t' (known: ${all[*]})" ;;
  esac
done
# The environment library reads this file to find the binaries.
cat >"$CACHE_ROOT/env.json" <<JSON
{"bin": "$BIN", "hadoopClasspath": "$CACHE_ROOT/hadoop-$HADOOP_VERSION/classpath.txt", "k8sVersion": "$K8S_VERSION", "etcdVersion": "$ETCD_VERSION"}
JSON
line done "in $((SECONDS - t_start))s, cache $CACHE_ROOT ($(du -sh "$CACHE_ROOT" 2>/dev/null | cut -f1))"
