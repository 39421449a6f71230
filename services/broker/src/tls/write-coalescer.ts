// Everything written to one MQTT connection in one turn of the event loop leaves in one write.
//
// aedes writes each packet on its own (mqtt-packet corks a socket only for the few buffers of one packet),
// and a subscriber receives each message from a separate callback: one publisher's packet, then another's.
// With TCP_NODELAY each write is its own syscall, its own TCP segment and, on TLS, its own record with its
// own encryption and MAC. Under load that was most of the broker's CPU on the message path (the `writev`
// syscalls alone: 30% of a profile of 8 publishers and 2 subscribers).
//
// So the first write of a turn corks the socket and the check phase of the same turn (setImmediate, which
// runs right after the poll phase that delivered the packets) uncorks it: a subscriber gets every message
// of that turn in one `writev`. A lone packet (a CONNACK, a PINGRESP) waits only for the end of the
// current poll phase, well under a millisecond. A destroy flushes first, so a CONNACK refusal written
// just before the connection is closed still goes out, as it did when every write left at once.
import type { Duplex } from 'node:stream';

export interface WriteCoalescing {
  /** Turns in which something was written (one flush each). */
  readonly flushes: number;
}

export function coalesceWrites(socket: Duplex): WriteCoalescing {
  const stats = { flushes: 0 };
  let held = false;
  const write = socket.write;
  const destroy = socket.destroy;
  const release = (): void => {
    if (!held) return;
    held = false;
    stats.flushes++;
    // After end() the stream is already uncorked (end flushes); uncork() on it is a no-op.
    if (!socket.destroyed) socket.uncork();
  };
  socket.write = function coalescedWrite(this: Duplex, ...args: Parameters<Duplex['write']>) {
    if (!held && !socket.destroyed && socket.writable) {
      held = true;
      socket.cork();
      setImmediate(release);
    }
    return write.apply(this, args);
  } as Duplex['write'];
  socket.destroy = function flushThenDestroy(this: Duplex, ...args: Parameters<Duplex['destroy']>) {
    release();
    return destroy.apply(this, args);
  } as Duplex['destroy'];
  return stats;
}
