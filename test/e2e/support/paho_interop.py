#!/usr/bin/python3
"""The client-interoperability checks run with Eclipse Paho (python3-paho-mqtt, the distribution's).

One JSON line per check on stdout: {"name", "ok", "detail"}. Every client connects with the device's
certificate chain and key and its MQTT credential. Clients marked "b" use the second broker port, so
running with two replicas' ports puts publisher and subscriber (or a session's two halves) on different
replicas. Topic names carry a per-run prefix so runs never see each other's retained messages.

The list follows the Paho interoperability suite's topics (basic, retained messages, will message,
zero-length client id, offline message queueing, overlapping subscriptions, keepalive, redelivery on
reconnect, subscribe failure, dollar topics, unsubscribe); the checks are our own.
"""
import argparse
import json
import socket
import ssl
import sys
import time
import traceback

import paho.mqtt.client as mqtt

p = argparse.ArgumentParser()
p.add_argument("--port-a", type=int, required=True)
p.add_argument("--port-b", type=int, required=True)
p.add_argument("--ca", required=True)
p.add_argument("--cert", required=True)
p.add_argument("--key", required=True)
p.add_argument("--username", required=True)
p.add_argument("--password", required=True)
p.add_argument("--prefix", required=True)
p.add_argument("--only", default="")
args = p.parse_args()

P = args.prefix
TOPICS = [f"{P}/TopicA", f"{P}/TopicA/B", f"{P}/TopicA/C", f"{P}/TopicA/B/C"]
WILD = [f"{P}/TopicA/+", f"{P}/+/C", f"{P}/#", f"{P}/TopicA/#"]
# Subscriptions the broker refuses with SUBACK 0x80: broker-internal topics are no device's business.
NOSUBSCRIBE = "$SYS/#"


class Box:
    """A client and what it received."""

    def __init__(self, client_id, port, clean=True, will=None, keepalive=60, connect=True):
        self.messages = []
        self.suback = None
        self.connack = None
        self.closed = False
        c = mqtt.Client(client_id=client_id, clean_session=clean, protocol=mqtt.MQTTv311)
        c.tls_set(ca_certs=args.ca, certfile=args.cert, keyfile=args.key, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        c.tls_insecure_set(False)
        c.username_pw_set(args.username, args.password)
        if will:
            c.will_set(*will)
        c.on_message = lambda _c, _u, m: self.messages.append(m)
        c.on_subscribe = lambda _c, _u, mid, granted: setattr(self, "suback", granted)
        c.on_connect = lambda _c, _u, flags, rc: setattr(self, "connack", (rc, flags.get("session present", 0)))
        c.on_disconnect = lambda _c, _u, rc: setattr(self, "closed", True)
        self.c = c
        if connect:
            c.connect("localhost", port, keepalive)
            c.loop_start()
            wait(lambda: self.connack is not None, "CONNACK")

    def subscribe(self, topics, qos):
        self.suback = None
        if isinstance(topics, str):
            topics = [topics]
        self.c.subscribe([(t, qos) for t in topics])
        wait(lambda: self.suback is not None, "SUBACK")
        return self.suback

    def publish(self, topic, payload, qos, retain=False):
        info = self.c.publish(topic, payload, qos, retain)
        if qos > 0:
            info.wait_for_publish(10)
        return info

    def round_trip(self):
        """A SUBACK proves everything sent before it was handled."""
        self.subscribe(f"{P}/round-trip", 0)

    def disconnect(self):
        self.c.disconnect()
        self.c.loop_stop()

    def kill(self):
        """Drop the TCP connection without DISCONNECT (a device losing power)."""
        self.c.loop_stop()
        sock = self.c.socket()
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()


def wait(cond, what, timeout=10.0):
    until = time.time() + timeout
    while time.time() < until:
        if cond():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def cleanup_retained():
    b = Box(f"{P}-clean", args.port_a)
    for t in TOPICS:
        b.publish(t, b"", 1, retain=True)
    b.disconnect()


def check(cond, msg):
    if not cond:
        raise AssertionError(msg)


def t_basic():
    a = Box(f"{P}-basic", args.port_a)
    a.disconnect()
    a = Box(f"{P}-basic", args.port_a)
    pub = Box(f"{P}-basic-pub", args.port_b)
    a.subscribe(TOPICS[0], 2)
    for q in (0, 1, 2):
        pub.publish(TOPICS[0], f"qos {q}".encode(), q)
    wait(lambda: len(a.messages) == 3, "3 messages")
    check(sorted(m.payload for m in a.messages) == [b"qos 0", b"qos 1", b"qos 2"], [m.payload for m in a.messages])
    a.disconnect()
    pub.disconnect()
    return "3 of 3 delivered"


def t_retained():
    pub = Box(f"{P}-ret-pub", args.port_a)
    for i, q in ((1, 0), (2, 1), (3, 2)):
        pub.publish(TOPICS[i], f"qos {q}".encode(), q, retain=True)
    pub.round_trip()
    sub = Box(f"{P}-ret-sub", args.port_b)
    sub.subscribe(WILD[2], 2)
    wait(lambda: len(sub.messages) == 3, "3 retained messages")
    check(all(m.retain for m in sub.messages), "retain flag missing")
    sub.disconnect()
    for i in (1, 2, 3):
        pub.publish(TOPICS[i], b"", 1, retain=True)
    pub.round_trip()
    sub = Box(f"{P}-ret-sub2", args.port_b)
    sub.subscribe(WILD[2], 2)
    sub.round_trip()
    time.sleep(0.3)
    check(len(sub.messages) == 0, f"cleared retained messages delivered: {[m.topic for m in sub.messages]}")
    sub.disconnect()
    pub.disconnect()
    return "3 retained, then 0 after clearing"


def t_will():
    watcher = Box(f"{P}-will-watch", args.port_b)
    watcher.subscribe(TOPICS[2], 2)
    dev = Box(f"{P}-will-dev", args.port_a, will=(TOPICS[2], b"client not disconnected", 0, False), keepalive=2)
    dev.kill()
    # Other checks' clean-up (empty retained publishes) may still arrive from the other replica.
    wait(lambda: any(m.payload == b"client not disconnected" for m in watcher.messages), "the will")
    watcher.disconnect()
    return "will received after an abrupt close"


def t_zero_length_clientid():
    # Paho itself refuses to build a persistent session without an id, so [MQTT-3.1.3-8] (CONNACK 2
    # for that CONNECT) is checked with a hand-made CONNECT by the `mqtt` package suite.
    ok = Box("", args.port_a, clean=True)
    check(ok.connack[0] == 0, f"clean session with empty id: rc {ok.connack}")
    sub_granted = ok.subscribe(TOPICS[0], 1)
    check(sub_granted[0] == 1, f"granted {sub_granted}")
    ok.disconnect()
    return "empty id with a clean session: accepted and usable"


def t_offline_queueing():
    cid = f"{P}-offline"
    a = Box(cid, args.port_a, clean=False)
    a.subscribe(WILD[2], 2)
    a.disconnect()
    pub = Box(f"{P}-offline-pub", args.port_b)
    for i, q in ((1, 0), (2, 1), (3, 2)):
        pub.publish(TOPICS[i], f"qos {q}".encode(), q)
    pub.round_trip()
    pub.disconnect()
    a = Box(cid, args.port_b, clean=False)
    check(a.connack[1] == 1, "session present not set")
    wait(lambda: len(a.messages) >= 2, "queued messages")
    a.round_trip()
    got = sorted(m.payload for m in a.messages)
    check(got in ([b"qos 1", b"qos 2"], [b"qos 0", b"qos 1", b"qos 2"]), got)
    a.disconnect()
    Box(cid, args.port_a, clean=True).disconnect()
    return f"{len(got)} queued messages delivered on the other port"


def t_overlapping():
    a = Box(f"{P}-overlap", args.port_a)
    a.suback = None
    a.c.subscribe([(WILD[3], 2), (WILD[0], 1)])
    wait(lambda: a.suback is not None, "SUBACK")
    pub = Box(f"{P}-overlap-pub", args.port_b)
    pub.publish(TOPICS[1], b"overlapping topic filters", 2)
    wait(lambda: len(a.messages) >= 1, "a message")
    time.sleep(0.3)
    qos = sorted(m.qos for m in a.messages)
    check(qos in ([2], [1, 2]), f"qos of deliveries {qos}")
    a.disconnect()
    pub.disconnect()
    return f"deliveries with qos {qos}"


def t_keepalive():
    watcher = Box(f"{P}-ka-watch", args.port_b)
    watcher.subscribe(TOPICS[4 - 1], 2)
    dev = Box(f"{P}-ka-dev", args.port_a, will=(TOPICS[3], b"keepalive expiry", 0, False), keepalive=2)
    # Stop the network loop: no PINGREQ goes out, the socket stays open.
    dev.c.loop_stop()
    start = time.time()
    wait(lambda: any(m.payload == b"keepalive expiry" for m in watcher.messages), "the will after keepalive expiry", timeout=15)
    elapsed = time.time() - start
    check(elapsed < 2 * 1.5 + 3, f"will after {elapsed:.1f} s")
    watcher.disconnect()
    return f"will published {elapsed:.1f} s after the last packet (keepalive 2 s)"


def t_redelivery():
    cid = f"{P}-redeliver"
    a = Box(cid, args.port_a, clean=False)
    a.subscribe(WILD[2], 2)
    # The device receives but never acknowledges (power lost after reading).
    a.c._send_puback = lambda mid: 0
    a.c._send_pubrec = lambda mid: 0
    pub = Box(f"{P}-redeliver-pub", args.port_b)
    pub.publish(TOPICS[1], b"", 1, retain=False)
    pub.publish(TOPICS[3], b"", 2, retain=False)
    wait(lambda: len(a.messages) >= 1, "first delivery (qos 1)")
    time.sleep(0.5)
    a.kill()
    pub.disconnect()
    b = Box(cid, args.port_b, clean=False)
    wait(lambda: len(b.messages) == 2, "redelivered messages")
    check(all(m.dup for m in b.messages if m.qos == 1), "QoS 1 redelivery without DUP")
    b.disconnect()
    Box(cid, args.port_a, clean=True).disconnect()
    return "QoS 1 and 2 redelivered after reconnecting, DUP set"


def t_subscribe_failure():
    a = Box(f"{P}-subfail", args.port_a)
    granted = a.subscribe(NOSUBSCRIBE, 2)
    check(granted[0] == 0x80, f"granted {granted}")
    a.disconnect()
    return "SUBACK 0x80"


def t_dollar_topics():
    a = Box(f"{P}-dollar", args.port_a)
    a.subscribe("#", 2)
    pub = Box(f"{P}-dollar-pub", args.port_b)
    pub.publish("$" + TOPICS[1], b"", 1)
    pub.round_trip()
    a.round_trip()
    time.sleep(0.3)
    dollar = [m.topic for m in a.messages if m.topic.startswith("$")]
    check(dollar == [], f"# matched {dollar}")
    a.disconnect()
    pub.disconnect()
    return "# does not match $-topics"


def t_unsubscribe():
    a = Box(f"{P}-unsub", args.port_a)
    a.subscribe(TOPICS[1], 2)
    a.subscribe(TOPICS[2], 2)
    a.subscribe(TOPICS[3], 2)
    pub = Box(f"{P}-unsub-pub", args.port_b)
    pub.publish(TOPICS[1], b"one", 1)
    pub.publish(TOPICS[2], b"two", 1)
    pub.publish(TOPICS[3], b"three", 1)
    wait(lambda: len(a.messages) == 3, "3 messages")
    unsubs = []
    a.c.on_unsubscribe = lambda _c, _u, mid: unsubs.append(mid)
    a.c.unsubscribe(TOPICS[1])
    a.c.unsubscribe(TOPICS[2])
    wait(lambda: len(unsubs) == 2, "2 UNSUBACKs")
    a.messages.clear()
    pub.publish(TOPICS[1], b"one", 1)
    pub.publish(TOPICS[2], b"two", 1)
    pub.publish(TOPICS[3], b"three", 1)
    wait(lambda: len(a.messages) == 1, "1 message")
    time.sleep(0.3)
    check([m.payload for m in a.messages] == [b"three"], [m.payload for m in a.messages])
    a.disconnect()
    pub.disconnect()
    return "only the remaining subscription delivers"


CHECKS = [
    ("basic", t_basic),
    ("retained messages", t_retained),
    ("will message", t_will),
    ("zero length client id", t_zero_length_clientid),
    ("offline message queueing", t_offline_queueing),
    ("overlapping subscriptions", t_overlapping),
    ("keepalive", t_keepalive),
    ("redelivery on reconnect", t_redelivery),
    ("subscribe failure", t_subscribe_failure),
    ("dollar topics", t_dollar_topics),
    ("unsubscribe", t_unsubscribe),
]

for name, fn in CHECKS:
    if args.only and name != args.only:
        continue
    try:
        cleanup_retained()
        detail = fn()
        out = {"name": name, "ok": True, "detail": detail}
    except Exception as e:  # one failed check must not hide the others
        out = {"name": name, "ok": False, "detail": f"{type(e).__name__}: {e}", "trace": traceback.format_exc(limit=3)}
    print(json.dumps(out), flush=True)
sys.exit(0)
