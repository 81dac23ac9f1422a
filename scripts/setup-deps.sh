#!/usr/bin/env bash
# Installs the Debian packages vnfpipe's tests and benchmarks use, and starts the Docker engine when it is
# not running. Idempotent: safe to run on every CI run and on a developer machine.
set -euo pipefail

packages=(docker.io docker-registry skopeo umoci busybox-static rsync apache2-utils openssl iproute2 git ca-certificates curl hyperfine gcc libc6-dev debootstrap rpm zstd libyang2-tools openssh-server tshark)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # No package may start a system service here (openssh-server would start sshd on port 22): tests start
  # their own servers on free ports. policy-rc.d refuses service starts for the install's duration.
  policy_made=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && policy_made=1
  fi
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || { [ -n "$policy_made" ] && rm -f /usr/sbin/policy-rc.d; exit 1; }
  if [ -n "$policy_made" ]; then rm -f /usr/sbin/policy-rc.d; fi
fi

# The registry package starts a system service on port 5000; tests start their own on free ports.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet docker-registry 2>/dev/null; then
  systemctl stop docker-registry || true
fi

start_dockerd() {
  if /usr/bin/docker version >/dev/null 2>&1; then return 0; fi
  echo "setup-deps: starting dockerd"
  mkdir -p /var/log
  nohup dockerd --iptables=false >/var/log/vnfpipe-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    /usr/bin/docker version >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "setup-deps: dockerd did not start; last log lines:" >&2
  tail -n 20 /var/log/vnfpipe-dockerd.log >&2 || true
  return 1
}
start_dockerd
echo "setup-deps: ready (docker $(/usr/bin/docker version --format '{{.Server.Version}}'), registry $(docker-registry --version 2>/dev/null | awk '{print $3}'))"
