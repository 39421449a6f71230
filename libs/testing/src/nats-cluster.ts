// Three `nats-server -js` routed into one JetStream cluster on loopback free ports, each with its own
// store, for tests of R3 streams and node loss: `killNode(i)` is a SIGKILL, `restartNode(i)` brings
// the node back on the same ports and store. Handed out once JetStream has a meta leader and an R3
// stream can be placed.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'nats';
import { OwnedProcess } from './process.js';
import { freePort, waitFor } from './ports.js';
import { portOpen, requireNatsServer } from './nats-server.js';

interface Node {
  name: string;
  port: number;
  clusterPort: number;
  monitorPort: number;
  storeDir: string;
  proc: OwnedProcess;
}

/** A connection as the monitoring endpoint `/connz` lists it. */
export interface NatsConnInfo {
  name?: string;
  cid: number;
}

export class NatsCluster {
  private stopping?: Promise<void>;

  private constructor(readonly name: string, private readonly nodes: Node[], private readonly root: string) {}

  /** `nats://127.0.0.1:p1,nats://…` — what a service's TWOWAY_NATS_URL is set to. */
  get url(): string {
    return this.urls.join(',');
  }
  get urls(): string[] {
    return this.nodes.map((n) => `nats://127.0.0.1:${n.port}`);
  }
  /** One node's client URL (a client that must stay on that node). */
  urlOf(i: number): string {
    return `nats://127.0.0.1:${this.node(i).port}`;
  }
  get size(): number {
    return this.nodes.length;
  }
  nodeName(i: number): string {
    return this.node(i).name;
  }
  running(i: number): boolean {
    return this.node(i).proc.running;
  }
  /** The node's server log so far, for a failing test's message. */
  log(i: number): string {
    return this.node(i).proc.log;
  }

  static async start(o: { size?: number; timeoutMs?: number } = {}): Promise<NatsCluster> {
    requireNatsServer();
    const size = o.size ?? 3;
    const root = await mkdtemp(join(tmpdir(), 'twoway-nats-cluster-'));
    const name = `twoway-test-${Math.random().toString(36).slice(2, 8)}`;
    const nodes: Node[] = [];
    // A port freed by one freePort() can be handed out again by the next: keep the cluster's ports distinct.
    const taken = new Set<number>();
    const distinctPort = async (): Promise<number> => {
      for (;;) {
        const p = await freePort();
        if (taken.has(p)) continue;
        taken.add(p);
        return p;
      }
    };
    for (let i = 0; i < size; i++) {
      nodes.push({ name: `n${i}`, port: await distinctPort(), clusterPort: await distinctPort(), monitorPort: await distinctPort(), storeDir: join(root, `n${i}`), proc: undefined! });
    }
    const cluster = new NatsCluster(name, nodes, root);
    try {
      for (let i = 0; i < size; i++) cluster.spawn(i);
      await Promise.all(nodes.map((_, i) => cluster.waitListening(i)));
      await cluster.waitJetStream(o.timeoutMs ?? 30_000);
    } catch (e) {
      const logs = nodes.map((n) => `--- ${n.name} ---\n${n.proc?.log.split('\n').slice(-15).join('\n') ?? ''}`).join('\n');
      await cluster.stop();
      throw new Error(`${(e as Error).message}\n${logs}`);
    }
    return cluster;
  }

  private node(i: number): Node {
    const n = this.nodes[i];
    if (!n) throw new RangeError(`no NATS node ${i} (cluster of ${this.nodes.length})`);
    return n;
  }

  private spawn(i: number): void {
    const n = this.node(i);
    const routes = this.nodes.filter((m) => m !== n).map((m) => `nats://127.0.0.1:${m.clusterPort}`).join(',');
    n.proc = OwnedProcess.spawn(`nats-server ${n.name}`, 'nats-server', [
      '-js', '-a', '127.0.0.1', '-p', String(n.port), '-m', String(n.monitorPort), '-sd', n.storeDir,
      '--server_name', n.name, '--cluster_name', this.name, '--cluster', `nats://127.0.0.1:${n.clusterPort}`, '--routes', routes,
    ]);
  }

  private waitListening(i: number): Promise<boolean> {
    const n = this.node(i);
    return waitFor(async () => {
      if (!n.proc.running) throw new Error(`nats-server ${n.name} exited early:\n${n.proc.log}`);
      return portOpen(n.port);
    }, { timeoutMs: 10_000, what: `nats-server ${n.name} to listen` });
  }

  /**
   * JetStream answers once the meta leader is elected; an R(size) stream can be placed once every
   * node has joined the meta group. Both take a few seconds after start.
   */
  private async waitJetStream(timeoutMs: number): Promise<void> {
    const nc = await connect({ servers: this.urls, name: 'nats-cluster-probe', maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    try {
      const jsm = await nc.jetstreamManager({ timeout: 2000 }).catch(() => undefined);
      const probe = `CLUSTER_PROBE_${Math.random().toString(36).slice(2, 8)}`;
      await waitFor(async () => {
        const m = jsm ?? (await nc.jetstreamManager({ timeout: 2000 }));
        await m.streams.add({ name: probe, subjects: [`probe.${probe}`], num_replicas: this.nodes.length });
        await m.streams.delete(probe);
        return true;
      }, { timeoutMs, everyMs: 250, what: `JetStream meta leader and an R${this.nodes.length} stream in cluster ${this.name}` });
    } finally {
      await nc.close();
    }
  }

  /** SIGKILL: the node gets no chance to hand over leadership or flush. */
  async killNode(i: number): Promise<void> {
    await this.node(i).proc.kill9();
  }

  /** Start a killed (or stopped) node again on the same ports and store; resolves once it listens. */
  async restartNode(i: number): Promise<void> {
    const n = this.node(i);
    if (n.proc.running) await n.proc.stop();
    this.spawn(i);
    await this.waitListening(i);
  }

  /** The node's client connections (its monitoring endpoint), e.g. to find which node a service is on. */
  async connections(i: number): Promise<NatsConnInfo[]> {
    const r = await fetch(`http://127.0.0.1:${this.node(i).monitorPort}/connz?limit=1024`);
    return ((await r.json()) as { connections?: NatsConnInfo[] }).connections ?? [];
  }

  /** The index of the running node a client named `name` is connected to, if any. */
  async nodeOf(name: string): Promise<number | undefined> {
    for (let i = 0; i < this.nodes.length; i++) {
      if (!this.running(i)) continue;
      if ((await this.connections(i).catch(() => [])).some((c) => c.name === name)) return i;
    }
    return undefined;
  }

  /** The index of the JetStream meta leader as a running node's monitoring endpoint (`/jsz`) reports it. */
  async metaLeader(): Promise<number | undefined> {
    for (let i = 0; i < this.nodes.length; i++) {
      if (!this.running(i)) continue;
      const r = await fetch(`http://127.0.0.1:${this.node(i).monitorPort}/jsz`).catch(() => undefined);
      const leader = r?.ok ? ((await r.json()) as { meta_cluster?: { leader?: string } }).meta_cluster?.leader : undefined;
      if (leader) return this.indexOf(leader);
    }
    return undefined;
  }

  /** The node answers its health check with JetStream current (`/healthz?js-enabled-only=true`). */
  async healthy(i: number): Promise<boolean> {
    const r = await fetch(`http://127.0.0.1:${this.node(i).monitorPort}/healthz`).catch(() => undefined);
    return !!r?.ok;
  }

  /** The running nodes' process ids (CPU and memory accounting). */
  get pids(): { name: string; pid: number }[] {
    return this.nodes.filter((n) => n.proc?.running).map((n) => ({ name: `nats-${n.name}`, pid: n.proc.child.pid! }));
  }

  /** The index of a node by its server name (e.g. a stream's `cluster.leader`). */
  indexOf(serverName: string): number {
    return this.nodes.findIndex((n) => n.name === serverName);
  }

  /** Every node stopped (SIGTERM then SIGKILL) and the stores removed; the same promise when called twice. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await Promise.all(this.nodes.map((n) => n.proc?.stop(3000)));
      await rm(this.root, { recursive: true, force: true });
    })();
    return this.stopping;
  }
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

