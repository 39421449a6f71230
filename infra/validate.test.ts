// The Kubernetes manifests render and keep their invariants (infra/validate.mjs), and the checks catch
// the mistakes they exist for.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
// @ts-expect-error plain ESM script without type declarations
import * as v from './validate.mjs';

const YAML = createRequire(new URL('../test/package.json', import.meta.url))('yaml');
const kubectl: boolean = v.kubectlAvailable();

type Obj = Record<string, any>;

/** The base objects read straight from the files (no kustomize needed), for the negative cases. */
function baseObjects(): Obj[] {
  const out: Obj[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.yaml') && name !== 'kustomization.yaml') {
        for (const d of YAML.parseAllDocuments(readFileSync(p, 'utf8'))) if (d.toJS()) out.push(d.toJS());
      }
    }
  };
  walk(join(v.k8sRoot, 'base'));
  return out;
}

const external = (): string[] => v.externalSecretsOf('overlays/dev');
const check = (docs: Obj[]): string[] => v.checkDocs(docs, { externalSecrets: external(), requireImageTags: false });
const find = (docs: Obj[], kind: string, name: string): Obj => {
  const d = docs.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(d, `${kind}/${name} exists`);
  return d;
};
const container = (docs: Obj[], name: string): Obj => find(docs, 'Deployment', name).spec.template.spec.containers[0];

describe('infra/k8s manifests', () => {
  it('every YAML file parses and every kustomization resource exists', () => {
    assert.deepEqual(v.checkFiles(), []);
  });

  it('the base files, read without kustomize, keep every invariant', () => {
    assert.deepEqual(check(baseObjects()), []);
  });

  for (const target of v.TARGETS as string[]) {
    it(`${target} renders with kustomize, matches the Kubernetes schemas and keeps every invariant`, { skip: kubectl ? false : 'kubectl (with its built-in kustomize) is not installed' }, () => {
      const docs: Obj[] = v.render(target);
      assert.ok(docs.length > 30, `rendered ${docs.length} objects`);
      assert.deepEqual(v.checkSchemas(docs), []);
      const namespace = target === 'base' ? undefined : v.namespaceOf(target);
      assert.deepEqual(v.checkDocs(docs, { externalSecrets: v.externalSecretsOf(target) ?? external(), namespace, requireImageTags: target !== 'base' }), []);
    });
  }

  it('prod pins a tagged image from a registry and scales brokers independently', { skip: kubectl ? false : 'kubectl is not installed' }, () => {
    const docs: Obj[] = v.render('overlays/prod');
    for (const name of ['broker', 'gateway', 'account-settings', 'cert-registry', 'audit']) {
      assert.match(container(docs, name).image, /^registry\.example\.com\/twoway:\d+\.\d+\.\d+$/);
    }
    const hpa = find(docs, 'HorizontalPodAutoscaler', 'broker');
    assert.deepEqual([hpa.spec.minReplicas, hpa.spec.maxReplicas], [3, 30]);
    assert.equal(find(docs, 'Deployment', 'broker').spec.replicas, undefined);
    assert.equal(find(docs, 'Ingress', 'gateway').spec.tls[0].secretName, 'gateway-tls');
  });

  it('prod keeps three copies of every stream and KV bucket (TWOWAY_NATS_REPLICAS=3 on a 3-node NATS)', { skip: kubectl ? false : 'kubectl is not installed' }, () => {
    const docs: Obj[] = v.render('overlays/prod');
    for (const name of ['broker', 'account-settings', 'cert-registry', 'audit']) {
      assert.equal(find(docs, 'ConfigMap', `${name}-config`).data.TWOWAY_NATS_REPLICAS, '3', name);
    }
    assert.equal(find(docs, 'StatefulSet', 'nats').spec.replicas, 3);
  });
});

describe('infra/validate.mjs catches', () => {
  const cases: [string, (docs: Obj[]) => void, RegExp][] = [
    ['a missing readiness probe', (d) => delete container(d, 'broker').readinessProbe, /Deployment\/broker: container broker has no readinessProbe/],
    ['a liveness probe on the wrong path', (d) => (container(d, 'audit').livenessProbe.httpGet.path = '/'), /audit livenessProbe is not GET \/healthz/],
    ['a root pod', (d) => (find(d, 'Deployment', 'gateway').spec.template.spec.securityContext.runAsNonRoot = false), /gateway: pod securityContext.runAsNonRoot/],
    ['a writable root filesystem', (d) => (container(d, 'cert-registry').securityContext.readOnlyRootFilesystem = false), /cert-registry root filesystem is writable/],
    ['missing resources', (d) => delete container(d, 'gateway').resources, /gateway has no cpu and memory requests/],
    ['a selector that misses its pods', (d) => (find(d, 'Deployment', 'audit').spec.selector.matchLabels['app.kubernetes.io/name'] = 'x'), /audit: selector.matchLabels do not match/],
    ['an HTTP port that differs from TWOWAY_HTTP_PORT', (d) => (find(d, 'ConfigMap', 'account-settings-config').data.TWOWAY_HTTP_PORT = '9999'), /TWOWAY_HTTP_PORT 9999 is not its http port 8081/],
    ['a Secret nobody creates', (d) => (container(d, 'audit').env[0].valueFrom.secretKeyRef.name = 'nope'), /Secret nope is neither rendered nor in external-secrets.txt/],
    ['a missing ConfigMap', (d) => (d.splice(d.indexOf(find(d, 'ConfigMap', 'gateway-config')), 1)), /ConfigMap gateway-config does not exist/],
    ['a Secret committed to Git', (d) => d.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'oops' }, data: {} }), /Secret\/oops: Secrets are created outside Git/],
    ['a gateway upstream that is not the Service', (d) => (find(d, 'ConfigMap', 'gateway-config').data.TWOWAY_AUDIT_URL = 'http://audit:9'), /TWOWAY_AUDIT_URL is http:\/\/audit:9/],
    ['a Service port the pods do not have', (d) => (find(d, 'Service', 'cert-registry').spec.ports[0].targetPort = 'metrics'), /cert-registry: targetPort metrics/],
    ['a broker balancer that loses source addresses', (d) => (find(d, 'Service', 'broker-mqtt').spec.externalTrafficPolicy = 'Cluster'), /externalTrafficPolicy is not Local/],
    ['broker TLS files outside the Secret mount', (d) => (find(d, 'ConfigMap', 'broker-config').data.TWOWAY_TLS_KEY_FILE = '/tmp/key.pem'), /TWOWAY_TLS_KEY_FILE \(\/tmp\/key.pem\) is not inside a mounted Secret/],
    ['a drain window longer than the grace period', (d) => (find(d, 'ConfigMap', 'broker-config').data.TWOWAY_DRAIN_WINDOW_MS = '60000'), /drain 60 s \+ 10 s to stop exceeds terminationGracePeriodSeconds 45/],
    ['a rolling update that takes brokers away first', (d) => (find(d, 'Deployment', 'broker').spec.strategy.rollingUpdate.maxUnavailable = 1), /maxUnavailable is not 0/],
    ['more stream replicas than NATS nodes', (d) => (find(d, 'ConfigMap', 'audit-config').data.TWOWAY_NATS_REPLICAS = '5'), /audit-config: TWOWAY_NATS_REPLICAS 5 is not between 1 and the 3 NATS nodes/],
    ['a fixed replica count fighting the autoscaler', (d) => (find(d, 'Deployment', 'broker').spec.replicas = 2), /broker: sets replicas although a HorizontalPodAutoscaler owns them/],
    ['PostgreSQL open to a service that owns no database', (d) => find(d, 'NetworkPolicy', 'postgres').spec.ingress[0].from[0].podSelector.matchExpressions[0].values.push('gateway'), /5432 is open to \[account-settings,audit,cert-registry,gateway\]/],
    ['a service HTTP port open to everyone', (d) => delete find(d, 'NetworkPolicy', 'cert-registry').spec.ingress[0].from, /cert-registry: HTTP port is open to \[\*\]/],
    ['no default deny', (d) => d.splice(d.indexOf(find(d, 'NetworkPolicy', 'default-deny-ingress')), 1), /no default deny/],
    ['a NATS route missing', (d) => (find(d, 'ConfigMap', 'nats-config').data['nats.conf'] = find(d, 'ConfigMap', 'nats-config').data['nats.conf'].replace(/\s*nats:\/\/nats-2[^\n]*/, '')), /cluster routes .* do not name every pod/],
    ['a Deployment without a PodDisruptionBudget', (d) => d.splice(d.indexOf(find(d, 'PodDisruptionBudget', 'gateway')), 1), /gateway: no PodDisruptionBudget/],
    ['the wss listener not exposed by the device load balancer', (d) => (find(d, 'Service', 'broker-mqtt').spec.ports = find(d, 'Service', 'broker-mqtt').spec.ports.filter((p: Obj) => p.name !== 'mqtt-wss')), /broker-mqtt: does not expose the broker's mqtt-wss port/],
    ['TWOWAY_MQTT_WSS_PORT not the container port', (d) => (find(d, 'ConfigMap', 'broker-config').data.TWOWAY_MQTT_WSS_PORT = '8885'), /TWOWAY_MQTT_WSS_PORT 8885 is not its mqtt-wss port \(8884\)/],
    ['a wss port while the listener is off', (d) => delete find(d, 'ConfigMap', 'broker-config').data.TWOWAY_MQTT_WSS_PORT, /has a mqtt-wss port but TWOWAY_MQTT_WSS_PORT is not set/],
    ['the wss port closed by the NetworkPolicy', (d) => (find(d, 'NetworkPolicy', 'broker').spec.ingress[0].ports = [{ port: 8883, protocol: 'TCP' }]), /mqtt-wss port 8884 is not open to devices/],
    ['a command for a service the build does not make', (d) => (container(d, 'audit').command = ['node', 'services/nope/dist/main.js']), /audit runs services\/nope\/dist\/main.js, which the build does not make/],
    ['a command that runs the TypeScript sources', (d) => (container(d, 'broker').command = ['node', '--import', 'tsx', 'services/broker/src/main.ts']), /broker command is not node \[--flags\] services\/<name>\/dist\/main.js/],
    ['a loader flag before the bundle', (d) => (container(d, 'broker').command = ['node', '--import=tsx', 'services/broker/dist/main.js']), /broker command is not .* \(--import=tsx loads code at run time\)/],
    ['a command outside the image', (d) => (container(d, 'gateway').workingDir = '/srv'), /gateway runs services\/gateway\/dist\/main.js, which the image does not hold/],
  ];
  for (const [what, mutate, expected] of cases) {
    it(what, () => {
      const docs = structuredClone(baseObjects());
      mutate(docs);
      const problems = check(docs);
      assert.ok(problems.some((p) => expected.test(p)), `expected ${expected} in:\n${problems.join('\n')}`);
    });
  }

  it('a schema violation', () => {
    const docs = structuredClone(baseObjects());
    container(docs, 'broker').ports[0].containerPort = '8883';
    assert.ok(v.checkSchemas(docs).some((p: string) => /Deployment\/broker: schema: .*containerPort must be integer/.test(p)), v.checkSchemas(docs).join('\n'));
  });
});

describe('the Dockerfile, checked offline (infra/validate.mjs checkDockerfile)', () => {
  const text = readFileSync(join(v.repoRoot, 'Dockerfile'), 'utf8');

  it('passes dockerfile-utils and every check; the runtime stage holds the bundles the manifests run', () => {
    const { problems, image } = v.checkDockerfile();
    assert.deepEqual(problems, []);
    assert.equal(image.workdir, '/app');
    for (const s of ['account-settings', 'cert-registry', 'audit', 'broker', 'gateway']) assert.ok(v.imageHolds(image, `/app/services/${s}/dist/main.js`), s);
    assert.ok(v.imageHolds(image, '/app/node_modules/better-sqlite3/package.json'));
    assert.equal(v.imageHolds(image, '/app/services/broker/src/main.ts'), false);
  });

  it('reads .dockerignore as docker does: patterns, ** and excluded parents', () => {
    const excluded = v.dockerignoreOf();
    for (const p of ['.git', 'node_modules', 'services/broker/node_modules/x', 'services/broker/dist/main.js', 'infra/k8s/base', 'pki/root/ca.pem', 'data', 'test/data/x']) assert.equal(excluded(p), true, p);
    for (const p of ['Dockerfile', 'scripts/build.mjs', 'infra/docker/entrypoint.sh', 'services/broker/src/main.ts']) assert.equal(excluded(p), false, p);
  });

  const cases: [string, (t: string) => string, RegExp][] = [
    ['an unknown instruction', (t) => t.replace('VOLUME ["/data"]', 'VOLUMES ["/data"]'), /Dockerfile:\d+: Unknown instruction: VOLUMES/],
    ['an unknown COPY flag', (t) => t.replace('COPY --from=build', 'COPY --form=build'), /Unknown flag: form/],
    ['a runtime stage without USER', (t) => t.replace('USER 1000:1000\n', ''), /the runtime stage runs as root \(no USER\)/],
    ['a runtime stage as root', (t) => t.replace('USER 1000:1000', 'USER 0'), /the runtime stage runs as 0, not as a numeric non-root user/],
    ['a user by name', (t) => t.replace('USER 1000:1000', 'USER node'), /runs as node, not as a numeric non-root user/],
    ['a COPY source that does not exist', (t) => t.replace('COPY infra/docker/entrypoint.sh', 'COPY infra/docker/start.sh'), /COPY source infra\/docker\/start.sh does not exist/],
    ['a COPY source .dockerignore leaves out', (t) => t.replace('COPY infra/docker/entrypoint.sh /usr/local/bin/twoway-entrypoint', 'COPY infra/docker/entrypoint.sh /usr/local/bin/twoway-entrypoint\nCOPY infra/k8s /etc/k8s'), /COPY source infra\/k8s is excluded by .dockerignore/],
    ['COPY --from a stage that does not exist', (t) => t.replace('COPY --from=build /runtime/', 'COPY --from=bulid /runtime/'), /COPY --from=bulid names no stage/],
    ['the whole workspace install in the runtime stage', (t) => t.replace('COPY --from=build /runtime/ ./', 'COPY --from=build /runtime/ ./\nCOPY --from=deps /app/node_modules ./node_modules'), /copies \/app\/node_modules from deps; it takes only the tree scripts\/stage-runtime.mjs stages/],
    ['npm ci with dev dependencies in the runtime stage', (t) => t.replace('RUN chmod 0555', 'RUN npm ci && chmod 0555'), /npm installs dev dependencies in the runtime stage/],
    ['tsx in the runtime stage', (t) => t.replace('ENV NODE_ENV=production', 'ENV NODE_OPTIONS=--import=tsx NODE_ENV=production'), /the runtime stage mentions tsx/],
    ['staging without a build', (t) => t.replace('RUN npm run build \\\n && node scripts/stage-runtime.mjs /runtime', 'RUN node scripts/stage-runtime.mjs /runtime'), /stages the runtime tree without building it first/],
    ['a single stage', (t) => 'FROM node:20-bookworm-slim\nWORKDIR /app\nCOPY . .\nUSER 1000\nENTRYPOINT ["node"]\n', /not a multi-stage build/],
  ];
  for (const [what, mutate, expected] of cases) {
    it(`catches ${what}`, () => {
      const mutated = mutate(text);
      assert.ok(mutated !== text, 'the mutation applies');
      const { problems } = v.checkDockerfile({ text: mutated });
      assert.ok(problems.some((p: string) => expected.test(p)), `expected ${expected} in:\n${problems.join('\n')}`);
    });
  }

  it('catches an entrypoint that runs the sources or misses a service', (t) => {
    const root = mkdtempSync(join(tmpdir(), 'twoway-dockerfile-'));
    t.after(() => rmSync(root, { recursive: true, force: true }));
    mkdirSync(join(root, 'infra/docker'), { recursive: true });
    writeFileSync(join(root, 'Dockerfile'), text);
    writeFileSync(join(root, '.dockerignore'), readFileSync(join(v.repoRoot, '.dockerignore')));
    const entrypoint = readFileSync(join(v.repoRoot, 'infra/docker/entrypoint.sh'), 'utf8');
    writeFileSync(join(root, 'infra/docker/entrypoint.sh'), entrypoint.replace('|audit)', ')').replace(/exec node .*main\.js"/, 'exec node --import tsx "services/${TWOWAY_SERVICE}/src/main.ts"'));
    const { problems } = v.checkDockerfile({ root });
    for (const expected of [/TWOWAY_SERVICE accepts \[account-settings,broker,cert-registry,gateway\], not the services/, /does not run services\/\$\{TWOWAY_SERVICE\}\/dist\/main.js/, /entrypoint.sh: runs tsx/]) {
      assert.ok(problems.some((p: string) => expected.test(p)), `expected ${expected} in:\n${problems.join('\n')}`);
    }
  });
});
