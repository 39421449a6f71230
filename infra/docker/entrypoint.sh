#!/bin/sh
# Starts the service named by TWOWAY_SERVICE, or runs the given command (e.g. `node services/x/dist/main.js`).
set -eu
if [ "$#" -gt 0 ]; then
  exec "$@"
fi
case "${TWOWAY_SERVICE:-}" in
  broker|gateway|account-settings|cert-registry|audit)
    # exec: node is PID 1's only child-free process and receives SIGTERM for the graceful stop.
    exec node "services/${TWOWAY_SERVICE}/dist/main.js" ;;
  *)
    echo "twoway: set TWOWAY_SERVICE to one of broker, gateway, account-settings, cert-registry, audit" >&2
    exit 64 ;;
esac
