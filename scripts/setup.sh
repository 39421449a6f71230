#!/usr/bin/env bash
# Installs what twoway needs on a Debian/Ubuntu machine with Node 20: the distribution's
# nats-server, mosquitto clients (and broker, for the benchmark comparison), Eclipse Paho for Python
# (interoperability tests, device examples), chromium (browser tests), PostgreSQL server binaries (persistence tests),
# then the npm packages. Idempotent: a
# second run installs nothing new.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v nats-server >/dev/null || need+=(nats-server)
command -v mosquitto_pub >/dev/null || need+=(mosquitto-clients)
command -v mosquitto >/dev/null && [ -x "$(command -v mosquitto)" ] || need+=(mosquitto)
command -v chromium >/dev/null || need+=(chromium)
if ! command -v initdb >/dev/null && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then need+=(postgresql); fi
command -v python3 >/dev/null || need+=(python3)
# Eclipse Paho for the client-interoperability tests and the Python device example, for the
# distribution's python (not a pyenv one).
[ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import paho.mqtt' 2>/dev/null || need+=(python3-paho-mqtt)

if ((${#need[@]})); then
  echo "setup: installing ${need[*]} from the distribution"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then echo "setup: Node 20 or newer is required (found $(node -v))" >&2; exit 1; fi

# The locked dependency tree (package-lock.json); native addons (better-sqlite3) build from source
# when no prebuilt binary can be fetched. `npm install` rather than `npm ci` so that a second run with
# an unchanged tree is a no-op (the Dockerfile uses `npm ci`; the lock lists every platform's nx binary).
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ] || [ package.json -nt node_modules/.package-lock.json ]; then
  npm install --no-audit --no-fund --loglevel=error
fi
echo "setup: ok"
