// Which replicas want a topic: the subscription filters each other replica announced (its interest),
// matched with MQTT wildcard semantics. The emitter forwards a PUBLISH only to the replicas found here.
//
// A match may include a replica whose subscriber will not get the message after all (the receiving
// replica's own mqemitter and aedes decide delivery); it must never miss one that would.

const DOLLAR = 36; // '$'

interface Node<V> {
  children: Map<string, Node<V>>;
  values: Set<V> | undefined;
}

const node = <V>(): Node<V> => ({ children: new Map(), values: undefined });

/** MQTT topic filters to values ([MQTT-4.7]): `+` one level (empty included), `#` the rest, parent level included. */
export class FilterTrie<V> {
  private readonly root: Node<V> = node();

  add(filter: string, value: V): void {
    let n = this.root;
    for (const level of filter.split('/')) {
      let c = n.children.get(level);
      if (!c) n.children.set(level, (c = node()));
      n = c;
    }
    (n.values ??= new Set()).add(value);
  }

  remove(filter: string, value: V): void {
    const path: Node<V>[] = [this.root];
    const levels = filter.split('/');
    for (const level of levels) {
      const c = path[path.length - 1]!.children.get(level);
      if (!c) return;
      path.push(c);
    }
    const leaf = path[path.length - 1]!;
    leaf.values?.delete(value);
    if (leaf.values?.size === 0) leaf.values = undefined;
    // Prune empty branches so a churn of device filters leaves nothing behind.
    for (let i = levels.length; i > 0; i--) {
      const n = path[i]!;
      if (n.values || n.children.size) break;
      path[i - 1]!.children.delete(levels[i - 1]!);
    }
  }

  /** Every value with a filter matching `topic` (a PUBLISH topic: no wildcards). */
  match(topic: string, into: Set<V> = new Set()): Set<V> {
    const levels = topic.split('/');
    // [MQTT-4.7.2-1] a filter starting with a wildcard does not match a topic starting with `$`.
    this.walk(this.root, levels, 0, into, topic.charCodeAt(0) === DOLLAR);
    return into;
  }

  private walk(n: Node<V>, levels: string[], i: number, into: Set<V>, dollar: boolean): void {
    const wild = !(dollar && i === 0);
    if (wild) {
      // [MQTT-4.7.1-2] `#` matches its parent level and any number of levels below.
      const hash = n.children.get('#');
      if (hash?.values) for (const v of hash.values) into.add(v);
    }
    if (i === levels.length) {
      if (n.values) for (const v of n.values) into.add(v);
      return;
    }
    if (wild) {
      const plus = n.children.get('+');
      if (plus) this.walk(plus, levels, i + 1, into, dollar);
    }
    const exact = n.children.get(levels[i]!);
    if (exact) this.walk(exact, levels, i + 1, into, dollar);
  }
}

/** What one other replica told us: its filters as of its announcement number `seq`. */
export interface PeerInterest {
  incarnation: string;
  /** Last announcement applied; undefined until a snapshot arrived. */
  seq: number | undefined;
  filters: Set<string>;
  lastSeenMs: number;
}

/** Announcements on the interest subject (JSON: rare, not on the message path). */
export type InterestMessage =
  /** Filters gained and lost since announcement `s - 1`. */
  | { k: 'delta'; r: string; i: string; s: number; add?: string[]; del?: string[] }
  /** The whole set as of `s`, possibly in parts (`first` starts a new set, `last` installs it). */
  | { k: 'snap'; r: string; i: string; s: number; filters: string[]; first: boolean; last: boolean }
  /** A replica starting with the filters of announcement `s` (none): the others answer with their snapshot. */
  | { k: 'hello'; r: string; i: string; s: number }
  /** Still here, at announcement `s`: a receiver that is behind asks for a snapshot. */
  | { k: 'beat'; r: string; i: string; s: number }
  /** Please send me your snapshot. */
  | { k: 'sync'; r: string; i: string }
  /** Applied everything up to `s`. */
  | { k: 'ack'; r: string; s: number }
  /** Stopping: forget my interest now. */
  | { k: 'bye'; r: string; i: string };

/**
 * The remote interest of every other replica and the trie built from it. `apply` is the one step from
 * an announcement to the new state; it says whether the receiver must ask the sender for a snapshot.
 */
export class RemoteInterest {
  readonly peers = new Map<string, PeerInterest>();
  private readonly trie = new FilterTrie<string>();
  private readonly pending = new Map<string, { s: number; filters: Set<string> }>();
  /** Bumped on every change of the trie: the emitter's route cache is valid for one version. */
  version = 0;

  match(topic: string): Set<string> {
    return this.trie.match(topic);
  }

  /** Apply an announcement from another replica at `nowMs`. Returns whether a snapshot is needed. */
  apply(m: InterestMessage, nowMs: number): { needSnapshot: boolean } {
    if (m.k === 'ack') return { needSnapshot: false };
    if (m.k === 'bye') {
      const p = this.peers.get(m.r);
      if (p && p.incarnation === m.i) this.drop(m.r);
      return { needSnapshot: false };
    }
    let p = this.peers.get(m.r);
    if (!p || p.incarnation !== m.i) {
      // A replica restarted under the same id: what its previous incarnation wanted is gone.
      if (p) this.drop(m.r);
      p = { incarnation: m.i, seq: undefined, filters: new Set(), lastSeenMs: nowMs };
      this.peers.set(m.r, p);
    }
    p.lastSeenMs = nowMs;
    switch (m.k) {
      case 'hello':
        this.replace(m.r, p, new Set());
        p.seq = m.s;
        return { needSnapshot: false };
      case 'sync':
        return { needSnapshot: p.seq === undefined };
      case 'beat':
        return { needSnapshot: p.seq !== m.s };
      case 'delta': {
        for (const f of m.add ?? []) if (!p.filters.has(f)) (p.filters.add(f), this.trie.add(f, m.r));
        for (const f of m.del ?? []) if (p.filters.delete(f)) this.trie.remove(f, m.r);
        if (m.add?.length || m.del?.length) this.version++;
        const inOrder = p.seq !== undefined && m.s === p.seq + 1;
        p.seq = m.s;
        // A lost announcement (NATS away) or deltas before the first snapshot: resynchronise.
        return { needSnapshot: !inOrder };
      }
      case 'snap': {
        let acc = this.pending.get(m.r);
        if (m.first || !acc || acc.s !== m.s) this.pending.set(m.r, (acc = { s: m.s, filters: new Set() }));
        for (const f of m.filters) acc.filters.add(f);
        if (!m.last) return { needSnapshot: false };
        this.pending.delete(m.r);
        this.replace(m.r, p, acc.filters);
        p.seq = m.s;
        return { needSnapshot: false };
      }
    }
  }

  /** Forget replicas not heard from since `deadlineMs`; returns their ids. */
  expire(deadlineMs: number): string[] {
    const gone: string[] = [];
    for (const [r, p] of this.peers) if (p.lastSeenMs < deadlineMs) gone.push(r);
    for (const r of gone) this.drop(r);
    return gone;
  }

  drop(replica: string): void {
    const p = this.peers.get(replica);
    if (!p) return;
    for (const f of p.filters) this.trie.remove(f, replica);
    this.peers.delete(replica);
    this.pending.delete(replica);
    this.version++;
  }

  private replace(replica: string, p: PeerInterest, next: Set<string>): void {
    for (const f of p.filters) if (!next.has(f)) this.trie.remove(f, replica);
    for (const f of next) if (!p.filters.has(f)) this.trie.add(f, replica);
    p.filters = next;
    this.version++;
  }
}
