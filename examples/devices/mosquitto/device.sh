#!/usr/bin/env bash
# A twoway device in shell with mosquitto_sub and mosquitto_pub (mosquitto-clients 2.x, bash 5).
#
# It presents its certificate chain and key, sends its MQTT username and password, checks the broker's
# certificate against the server CA (host name included), subscribes to MQTT_TOPIC with mosquitto_sub
# and publishes to it with mosquitto_pub once subscribed and then every MQTT_PUBLISH_INTERVAL_MS, so it
# receives its own messages. When the connection is refused or drops it says why (the CONNACK return
# code and what it means) and starts mosquitto_sub again after an exponential backoff with jitter,
# capped at MQTT_BACKOFF_MAX_MS.
#
#   MQTT_CA_FILE=... MQTT_CERT_FILE=... MQTT_KEY_FILE=... MQTT_USERNAME=... MQTT_PASSWORD=... ./device.sh
#
# Every setting is an environment variable; see README.md next to this file.
set -u

log() { printf '%s\n' "$*"; }
fail() {
  log "error: $*"
  exit 2
}
require() { [ -n "${!1:-}" ] || fail "$1 is not set (see README.md)"; }
milliseconds() { # NAME DEFAULT
  local value=${!1:-$2}
  [[ $value =~ ^[1-9][0-9]*$ ]] || fail "$1 must be a positive number of milliseconds, not '$value'"
  printf -v "$1" '%s' "$value"
}

for name in MQTT_CA_FILE MQTT_CERT_FILE MQTT_KEY_FILE MQTT_USERNAME MQTT_PASSWORD; do require "$name"; done
for file in "$MQTT_CA_FILE" "$MQTT_CERT_FILE" "$MQTT_KEY_FILE"; do [ -r "$file" ] || fail "cannot read $file"; done
grep -q -- '-----BEGIN CERTIFICATE-----' "$MQTT_CA_FILE" || fail "MQTT_CA_FILE holds no PEM certificate: $MQTT_CA_FILE"
grep -q -- '-----BEGIN CERTIFICATE-----' "$MQTT_CERT_FILE" || fail "MQTT_CERT_FILE holds no PEM certificate: $MQTT_CERT_FILE"
grep -q -- '-----BEGIN .*PRIVATE KEY-----' "$MQTT_KEY_FILE" || fail "MQTT_KEY_FILE holds no PEM private key: $MQTT_KEY_FILE"
command -v mosquitto_sub >/dev/null && command -v mosquitto_pub >/dev/null || fail "mosquitto_sub and mosquitto_pub not found: install mosquitto-clients"
command -v stdbuf >/dev/null || fail "stdbuf not found: install GNU coreutils"
host=${MQTT_HOST:-localhost}
port=${MQTT_PORT:-8883}
[[ $port =~ ^[1-9][0-9]{0,4}$ ]] && [ "$port" -le 65535 ] || fail "MQTT_PORT must be a port number, not '$port'"
client_id=${MQTT_CLIENT_ID:-$MQTT_USERNAME}
topic=${MQTT_TOPIC:-devices/$client_id/hello}
milliseconds MQTT_PUBLISH_INTERVAL_MS 10000
milliseconds MQTT_BACKOFF_MIN_MS 1000
milliseconds MQTT_BACKOFF_MAX_MS 60000

# MQTT 3.1.1 §3.2.2.3: a refusal can only say one of these; twoway puts the precise reason in the
# account's audit trail (`twoway audit --client-id ID --explain`).
connack_meaning() {
  case $1 in
    0) echo 'connection accepted' ;;
    1) echo 'unacceptable protocol version: use MQTT 3.1.1' ;;
    2) echo 'identifier rejected: the client id is not allowed' ;;
    3) echo 'server unavailable' ;;
    4) echo 'bad user name or password: check MQTT_USERNAME and MQTT_PASSWORD; the credential may also be disabled or expired' ;;
    5) echo 'not authorized: the certificate chain was not accepted for this account (none sent, not registered, suspended or revoked) or there were too many failed attempts; the audit trail has the exact reason' ;;
    *) echo 'unknown return code' ;;
  esac
}

# Doubles with each failure in a row, capped; a random half of it is jitter, so a fleet cut off at once
# does not come back at once. Prints seconds.
backoff_s() { # FAILURES
  awk -v n="$1" -v min="$MQTT_BACKOFF_MIN_MS" -v max="$MQTT_BACKOFF_MAX_MS" -v seed="$RANDOM$RANDOM" \
    'BEGIN { srand(seed); c = min * 2 ^ (n - 1); if (c > max) c = max; printf "%.2f", (c / 2 + rand() * c / 2) / 1000 }'
}

# Sets `now` to the time in milliseconds, without a subshell (this runs five times a second).
clock() {
  now=${EPOCHREALTIME//[!0-9]/}
  now=$((now / 1000))
}

# Both clients: the server's certificate checked against MQTT_CA_FILE and its name against MQTT_HOST
# (mosquitto's default unless --insecure; TLS 1.2+), the device's chain (certificate followed by its
# intermediates: the broker needs it up to the anchor registered for the account) and key, the
# credential, MQTT 3.1.1. -P puts the password on the command line, visible in `ps` to local users.
common=(-h "$host" -p "$port" --cafile "$MQTT_CA_FILE" --cert "$MQTT_CERT_FILE" --key "$MQTT_KEY_FILE"
  -u "$MQTT_USERNAME" -P "$MQTT_PASSWORD" -V mqttv311)

workdir=$(mktemp -d)
sub_pid=
stopping=0
trap 'stopping=1' TERM INT
trap '[ -n "$sub_pid" ] && kill "$sub_pid" 2>/dev/null; rm -rf "$workdir"' EXIT

sent=0
publish() {
  local payload out
  sent=$((sent + 1))
  payload="hello $sent from $client_id"
  # Its own connection, so its own client id: the same id would take the subscriber's session over.
  if out=$(mosquitto_pub "${common[@]}" -i "$client_id-pub" -q 1 -t "$topic" -m "$payload" 2>&1); then
    log "published '$payload' to '$topic'"
  else
    log "publish failed: ${out//$'\n'/ }"
  fi
}

# One run of mosquitto_sub, from CONNECT until it ends. Sets `accepted` to 1 when the broker had
# accepted the connection.
session() { # ATTEMPT
  local line part pending='' rc code='' errors='' connects=0 next_publish=0 kill_at=0 now=0 status
  accepted=0
  log "connecting to $host:$port as '$client_id' (user '$MQTT_USERNAME'), attempt $1"
  mkfifo "$workdir/sub"
  # -d prints the protocol exchange (the CONNACK return code, the SUBACK); stdbuf passes it on line
  # by line; -F prints each message as a log line of ours.
  stdbuf -oL mosquitto_sub "${common[@]}" -i "$client_id" -q 1 -t "$topic" -d -F "received '%p' on '%t'" >"$workdir/sub" 2>&1 &
  sub_pid=$!
  exec 3<"$workdir/sub"
  rm "$workdir/sub"
  while :; do
    part=''
    IFS= read -r -t 0.2 part <&3
    rc=$?
    # A read that times out mid-line keeps what it consumed in `part`: hold it for the rest of the line
    # (a loaded machine delivers mosquitto_sub's lines in pieces).
    if [ "$rc" -gt 128 ]; then
      pending=$pending$part
    elif [ "$rc" = 0 ]; then
      line=$pending$part
      pending=''
      case $line in
        "Client $client_id sending CONNECT") connects=$((connects + 1)) ;;
        "Client $client_id received CONNACK ("*)
          code=${line##*\(}
          code=${code%\)}
          if [ "$code" = 0 ]; then
            accepted=1
            log "connected (CONNACK 0: $(connack_meaning 0))"
          fi ;;
        "Subscribed (mid: "*)
          if [ "${line##* }" = 128 ]; then
            log "subscription to '$topic' refused (SUBACK 0x80): the topic is outside what the broker allows"
          else
            log "subscribed to '$topic' (QoS ${line##* })"
            next_publish=1 # publish at once
          fi ;;
        "received '"*) log "$line" ;;
        Client\ *) ;; # the rest of the protocol exchange
        *) errors="${errors:+$errors }$line" ;;
      esac
    else
      break # end of output: mosquitto_sub has exited
    fi
    clock
    # A second CONNECT is libmosquitto reconnecting on its own at a fixed delay: we back off instead.
    if [ "$stopping" = 1 ] || [ "$connects" -gt 1 ]; then
      # On SIGTERM mosquitto_sub sends a DISCONNECT and exits, but with -d its signal handler can
      # deadlock on the log mutex (eclipse-mosquitto/mosquitto#3175): SIGKILL after a second.
      if [ "$kill_at" = 0 ]; then
        kill "$sub_pid" 2>/dev/null
        kill_at=$((now + 1000))
      elif [ "$now" -ge "$kill_at" ]; then
        kill -KILL "$sub_pid" 2>/dev/null
      fi
    elif [ "$next_publish" -gt 0 ] && [ "$now" -ge "$next_publish" ]; then
      publish
      clock
      next_publish=$((now + MQTT_PUBLISH_INTERVAL_MS))
    fi
  done
  exec 3<&-
  wait "$sub_pid"
  status=$?
  sub_pid=
  [ "$stopping" = 1 ] && return
  if [ -n "$code" ] && [ "$code" != 0 ]; then
    log "refused: CONNACK $code ($(connack_meaning "$code"))"
  elif [ "$accepted" = 1 ]; then
    log "connection lost: ${errors:-mosquitto_sub exited ($status)}"
  elif [[ $errors == *"verification failed"* || $errors == *"certificate verify failed"* ]]; then
    log "connection failed: the server certificate was not accepted ($errors): is MQTT_CA_FILE the CA of the broker's certificate, and MQTT_HOST a name in it?"
  else
    log "connection failed: ${errors:-mosquitto_sub exited ($status)}"
  fi
}

failures=0
attempt=0
while [ "$stopping" = 0 ]; do
  attempt=$((attempt + 1))
  session "$attempt"
  [ "$stopping" = 1 ] && break
  # An accepted connection that later dropped starts the backoff over.
  if [ "$accepted" = 1 ]; then failures=1; else failures=$((failures + 1)); fi
  delay=$(backoff_s "$failures")
  log "retrying in $delay s"
  sleep "$delay" &
  wait $! || kill $! 2>/dev/null # a signal ends the wait early
done
log "stopped"
