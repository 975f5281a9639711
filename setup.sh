#!/usr/bin/env bash
# Set up trunkconsole on a fresh Debian/Ubuntu machine, as root, then:
#   ./setup.sh demo   open the console on the lab PBX (a real Asterisk 22 in a namespace)
#   ./setup.sh test   run the whole test suite (lab tests included)
# Idempotent: packages, the venv and the lab root filesystem are reused when present.
set -euo pipefail
cd "$(dirname "$0")"

mode="${1:-}"
case "$mode" in
  demo|test) ;;
  *) echo "usage: $0 demo|test" >&2; exit 2 ;;
esac
if [ "$(id -u)" -ne 0 ]; then
  echo "setup.sh: run as root (the lab needs network namespaces and chroot)" >&2
  exit 1
fi

# Host tools: debootstrap builds the lab root filesystem (Debian sid, Asterisk 22),
# sip-tester is sipp (the carrier), nftables/iptables/conntrack for the firewall checks,
# tmux to watch the console as an operator sees it, fail2ban for the provider-banned
# scenario (run by the lab inside its PBX namespace with a private configuration),
# tshark to check exported pcaps.
packages=(debootstrap sip-tester nftables iptables iproute2 conntrack tmux util-linux
          python3 python3-venv ca-certificates ipset prometheus fail2ban ansible-core tshark)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ -d /run/systemd/system ]; then
    # The packages would start services on this host: fail2ban (its sshd jail, the host
    # firewall) and Prometheus (listening on :9090). The lab and the tests run their own,
    # inside namespaces. An operator who wants them here: systemctl unmask NAME.
    for service in fail2ban prometheus; do
      if [[ " ${missing[*]} " == *" ${service} "* ]]; then
        systemctl mask "${service}.service"
      fi
    done
  fi
  echo "setup.sh: installing ${missing[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
stamp=.venv/.trunkconsole-installed
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[dev]'
  touch "$stamp"
fi

# Build (once) and cache the lab root filesystem: /var/cache/trunkconsole by default.
.venv/bin/trunkconsole lab prepare

if [ "$mode" = demo ]; then
  .venv/bin/trunkconsole lab up --name demo
  exec .venv/bin/trunkconsole lab console --name demo
fi
# Lab tests mostly wait on timers and the network: several pytest-xdist workers, each with
# its own lab (tests/conftest.py names it after the worker), whole files per worker (tests in
# a file share fixtures and fixed paths), in collection order (tests/lab first, while the CPU
# is free for their real-time windows; the many small CPU-bound files after them balance the
# end). TRUNKCONSOLE_TEST_WORKERS=0 runs in one process.
exec .venv/bin/pytest -q -p no:cacheprovider -n "${TRUNKCONSOLE_TEST_WORKERS:-3}" \
  --dist loadfile --no-loadscope-reorder
