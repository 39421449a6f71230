#!/usr/bin/env python3
"""A twoway device in Python with Eclipse Paho (paho-mqtt 1.6 or 2.x).

It presents its certificate chain and key, sends its MQTT username and password, checks the broker's
certificate against the server CA (host name included), subscribes to MQTT_TOPIC and publishes to it
once subscribed and then every MQTT_PUBLISH_INTERVAL_MS, so it receives its own messages. When the
connection is refused or drops it says why (the CONNACK return code and what it means) and tries again
after an exponential backoff with jitter, capped at MQTT_BACKOFF_MAX_MS.

    MQTT_CA_FILE=... MQTT_CERT_FILE=... MQTT_KEY_FILE=... MQTT_USERNAME=... MQTT_PASSWORD=... python3 device.py

Every setting is an environment variable; see README.md next to this file.
"""
import os
import random
import signal
import ssl
import sys
import threading
import time

try:
    import paho.mqtt.client as mqtt
except ImportError:
    print(f"error: paho-mqtt is not installed for {sys.executable}: apt-get install python3-paho-mqtt"
          " (for /usr/bin/python3) or pip install paho-mqtt", flush=True)
    sys.exit(2)

# MQTT 3.1.1 §3.2.2.3: a refusal can only say one of these; twoway puts the precise reason in the
# account's audit trail (`twoway audit --client-id ID --explain`).
CONNACK_MEANING = {
    0: "connection accepted",
    1: "unacceptable protocol version: use MQTT 3.1.1",
    2: "identifier rejected: the client id is not allowed",
    3: "server unavailable",
    4: "bad user name or password: check MQTT_USERNAME and MQTT_PASSWORD; the credential may also be disabled or expired",
    5: "not authorized: the certificate chain was not accepted for this account (none sent, not registered,"
       " suspended or revoked) or there were too many failed attempts; the audit trail has the exact reason",
}
# paho 2.x reports a 3.1.1 CONNACK as an MQTT 5 reason code (a different number): map it back by name.
V5_NAME_TO_CONNACK = {
    "Success": 0,
    "Unsupported protocol version": 1,
    "Client identifier not valid": 2,
    "Server unavailable": 3,
    "Bad user name or password": 4,
    "Not authorized": 5,
}


def log(line):
    print(line, flush=True)


def setting(name, default=None, required=False):
    value = os.environ.get(name, "")
    if value:
        return value
    if required:
        log(f"error: {name} is not set (see README.md)")
        sys.exit(2)
    return default


def milliseconds(name, default):
    raw = setting(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value <= 0:
        log(f"error: {name} must be a positive number of milliseconds, not {raw!r}")
        sys.exit(2)
    return value


HOST = setting("MQTT_HOST", "localhost")
PORT_TEXT = setting("MQTT_PORT", "8883")
if not PORT_TEXT.isdigit() or not 0 < int(PORT_TEXT) < 65536:
    log(f"error: MQTT_PORT must be a port number, not {PORT_TEXT!r}")
    sys.exit(2)
PORT = int(PORT_TEXT)
CA_FILE = setting("MQTT_CA_FILE", required=True)
CERT_FILE = setting("MQTT_CERT_FILE", required=True)
KEY_FILE = setting("MQTT_KEY_FILE", required=True)
USERNAME = setting("MQTT_USERNAME", required=True)
PASSWORD = setting("MQTT_PASSWORD", required=True)
CLIENT_ID = setting("MQTT_CLIENT_ID", USERNAME)
TOPIC = setting("MQTT_TOPIC", f"devices/{CLIENT_ID}/hello")
PUBLISH_INTERVAL_S = milliseconds("MQTT_PUBLISH_INTERVAL_MS", 10_000) / 1000
BACKOFF_MIN_S = milliseconds("MQTT_BACKOFF_MIN_MS", 1_000) / 1000
BACKOFF_MAX_S = milliseconds("MQTT_BACKOFF_MAX_MS", 60_000) / 1000


def backoff_s(failures):
    """Doubles with each failure in a row, capped; a random half of it is jitter, so a fleet cut off at
    once does not come back at once."""
    ceiling = min(BACKOFF_MAX_S, BACKOFF_MIN_S * 2 ** (failures - 1))
    return ceiling / 2 + random.random() * ceiling / 2


def tls_context():
    # TLS 1.2+, the server's chain checked against MQTT_CA_FILE and its name against MQTT_HOST.
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=CA_FILE)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.check_hostname = True
    # MQTT_CERT_FILE holds the device certificate followed by its intermediate(s): the broker needs
    # the whole chain up to the anchor registered for the account.
    ctx.load_cert_chain(certfile=CERT_FILE, keyfile=KEY_FILE)
    return ctx


def connack_code(rc):
    """The 3.1.1 return code from what on_connect got: an int (paho 1.6) or a ReasonCode (paho 2.x)."""
    if isinstance(rc, int):
        return rc
    return V5_NAME_TO_CONNACK.get(str(rc), getattr(rc, "value", -1))


class Device:
    def __init__(self):
        self.stopping = threading.Event()
        self.sent = 0
        self.connack = None
        self.subscribed = False
        self.next_publish = 0.0
        kwargs = {}
        if hasattr(mqtt, "CallbackAPIVersion"):  # paho 2.x
            kwargs["callback_api_version"] = mqtt.CallbackAPIVersion.VERSION2
        # Reconnection is ours (below); reconnect_on_failure=False keeps paho from retrying on its own.
        self.client = mqtt.Client(client_id=CLIENT_ID, clean_session=True, protocol=mqtt.MQTTv311,
                                  reconnect_on_failure=False, **kwargs)
        self.client.tls_set_context(tls_context())
        self.client.username_pw_set(USERNAME, PASSWORD)
        self.client.on_connect = self.on_connect
        self.client.on_subscribe = self.on_subscribe
        self.client.on_message = self.on_message

    # Callbacks: the extra arguments of paho 2.x (properties) are optional, so one signature serves both.
    def on_connect(self, client, userdata, flags, rc, properties=None):
        self.connack = connack_code(rc)
        if self.connack != 0:
            return  # reported by run() once paho has closed the socket
        log(f"connected (CONNACK 0: {CONNACK_MEANING[0]})")
        client.subscribe(TOPIC, qos=1)

    def on_subscribe(self, client, userdata, mid, granted, properties=None):
        codes = [int(getattr(g, "value", g)) for g in granted]
        if any(c >= 0x80 for c in codes):
            log(f"subscription to '{TOPIC}' refused (SUBACK {codes[0]:#04x}): the topic is outside what the broker allows")
            return
        log(f"subscribed to '{TOPIC}' (QoS {codes[0]})")
        self.subscribed = True
        self.next_publish = 0.0  # publish at once

    def on_message(self, client, userdata, msg):
        log(f"received '{msg.payload.decode('utf-8', 'replace')}' on '{msg.topic}'")

    def publish_when_due(self):
        if not self.subscribed or time.monotonic() < self.next_publish:
            return
        self.sent += 1
        payload = f"hello {self.sent} from {CLIENT_ID}"
        self.client.publish(TOPIC, payload, qos=1)
        log(f"published '{payload}' to '{TOPIC}'")
        self.next_publish = time.monotonic() + PUBLISH_INTERVAL_S

    def session(self, attempt):
        """One connection, from CONNECT until it ends. True when the broker had accepted it."""
        self.connack, self.subscribed = None, False
        log(f"connecting to {HOST}:{PORT} as '{CLIENT_ID}' (user '{USERNAME}'), attempt {attempt}")
        try:
            self.client.connect(HOST, PORT, keepalive=30)
        except ssl.SSLCertVerificationError as e:
            log(f"connection failed: the server certificate was not accepted ({e.verify_message}): "
                f"is MQTT_CA_FILE the CA of the broker's certificate, and MQTT_HOST a name in it?")
            return False
        except (OSError, ssl.SSLError) as e:
            log(f"connection failed: {e}")
            return False
        rc = mqtt.MQTT_ERR_SUCCESS
        while not self.stopping.is_set():
            rc = self.client.loop(timeout=0.2)
            if rc != mqtt.MQTT_ERR_SUCCESS:
                break
            self.publish_when_due()
        if self.stopping.is_set():
            self.client.disconnect()
            self.client.loop(timeout=0.5)
            return True
        if self.connack is None:
            log(f"connection closed before CONNACK: {mqtt.error_string(rc)}")
        elif self.connack != 0:
            meaning = CONNACK_MEANING.get(self.connack, "unknown return code")
            log(f"refused: CONNACK {self.connack} ({meaning})")
        else:
            log(f"connection lost: {mqtt.error_string(rc)}")
        return self.connack == 0

    def run(self):
        failures = 0
        attempt = 0
        while not self.stopping.is_set():
            attempt += 1
            accepted = self.session(attempt)
            if self.stopping.is_set():
                break
            # An accepted connection that later dropped starts the backoff over.
            failures = 1 if accepted else failures + 1
            delay = backoff_s(failures)
            log(f"retrying in {delay:.2f} s")
            self.stopping.wait(delay)
        log("stopped")


def main():
    for f in (CA_FILE, CERT_FILE, KEY_FILE):
        if not os.access(f, os.R_OK):
            log(f"error: cannot read {f}")
            return 2
    try:
        device = Device()
    except (ssl.SSLError, OSError) as e:
        log(f"error: cannot load the CA, certificate or key: {e}")
        return 2

    def stop(signum, frame):
        device.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    device.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
