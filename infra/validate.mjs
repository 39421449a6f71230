#!/usr/bin/env node
// Offline validation of the Kubernetes manifests in infra/k8s, without a cluster:
//   1. every YAML file parses; every kustomization's resources exist;
//   2. base and each overlay render with `kubectl kustomize` (the kustomize built into kubectl);
//   3. each rendered object is checked against the Kubernetes OpenAPI schema (kubernetes-models);
//   4. the invariants twoway relies on hold (checkDocs below: probes, non-root, read-only root filesystem,
//      selectors, references to ConfigMaps/Secrets/Services, ports, PDBs, NetworkPolicies, NATS cluster,
//      and every service's command runs a bundle the image holds);
//   5. the Dockerfile, without a Docker engine (checkDockerfile below: dockerfile-utils' validator, then
//      stages, COPY sources, the non-root runtime stage holding only the staged runtime tree).
// Usage: node infra/validate.mjs          (exit 1 and a list of problems when something is wrong)
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, posix, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RUNTIME_DIRS, SERVICES, TARGETS as BUILD_TARGETS, serviceBundle } from '../scripts/build-targets.mjs';

// yaml and kubernetes-models are dependencies of the `test` workspace.
const requireFromTest = createRequire(new URL('../test/package.json', import.meta.url));
const YAML = requireFromTest('yaml');
const { DockerfileParser } = requireFromTest('dockerfile-ast');
const dockerfileUtils = requireFromTest('dockerfile-utils');

export const repoRoot = fileURLToPath(new URL('..', import.meta.url));
export const k8sRoot = join(repoRoot, 'infra', 'k8s');
export const TARGETS = ['base', 'overlays/dev', 'overlays/prod'];

/** Services built from this repository's image, with the HTTP port each listens on. */
export const SERVICE_PORTS = { gateway: 8080, 'account-settings': 8081, 'cert-registry': 8082, audit: 8083, broker: 8084 };
/**
 * The broker's MQTT listeners: the setting that opens each, the container port name it must have,
 * and the setting's default (none: the listener is off unless set).
 */
export const BROKER_LISTENERS = [
  { env: 'TWOWAY_MQTT_PORT', port: 'mqtts', default: 8883 },
  { env: 'TWOWAY_MQTT_WSS_PORT', port: 'mqtt-wss' },
];
/** Services that own a database (TWOWAY_DB_URL) and so may reach PostgreSQL. */
export const DB_OWNERS = ['account-settings', 'cert-registry', 'audit'];
const TWOWAY_IMAGE = /(^|\/)twoway(:|$)/;
/** node flags that load code before the entry point: production runs compiled bundles only. */
const LOADER_FLAGS = ['--import', '--loader', '--experimental-loader', '--require', '-r'];

const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet']);
const CLUSTER_SCOPED = new Set(['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'StorageClass', 'PersistentVolume']);

// ---------- files and rendering

function walkYaml(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walkYaml(p, out);
    else if (/\.ya?ml$/.test(name)) out.push(p);
  }
  return out;
}

/** Syntax of every YAML file, and resources listed by each kustomization. */
export function checkFiles(root = k8sRoot) {
  const problems = [];
  for (const file of walkYaml(root)) {
    const rel = relative(repoRoot, file);
    const docs = YAML.parseAllDocuments(readFileSync(file, 'utf8'));
    for (const d of docs) for (const e of d.errors) problems.push(`${rel}: YAML ${e.message.split('\n')[0]}`);
    if (/kustomization\.ya?ml$/.test(file) && docs[0] && docs[0].errors.length === 0) {
      const k = docs[0].toJS() ?? {};
      for (const r of [...(k.resources ?? []), ...(k.components ?? [])]) {
        const p = join(dirname(file), r);
        if (!existsSync(p)) problems.push(`${rel}: resource ${r} does not exist`);
        else if (statSync(p).isDirectory() && !existsSync(join(p, 'kustomization.yaml'))) problems.push(`${rel}: ${r} has no kustomization.yaml`);
      }
    }
  }
  return problems;
}

export function kubectlAvailable() {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Render a kustomization directory (relative to infra/k8s) into plain objects. */
export function render(target) {
  const out = execFileSync('kubectl', ['kustomize', join(k8sRoot, target)], { encoding: 'utf8', maxBuffer: 32 * 1024 * 1024 });
  return YAML.parseAllDocuments(out).map((d) => d.toJS()).filter(Boolean);
}

export function externalSecretsOf(target) {
  const f = join(k8sRoot, target, 'external-secrets.txt');
  if (!existsSync(f)) return undefined;
  return readFileSync(f, 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
}

export function namespaceOf(target) {
  const k = YAML.parse(readFileSync(join(k8sRoot, target, 'kustomization.yaml'), 'utf8'));
  return k.namespace;
}

// ---------- schema

function modelFor(apiVersion, kind) {
  const path = `kubernetes-models/${apiVersion}/${kind}`;
  try {
    return requireFromTest(path)[kind];
  } catch {
    return undefined;
  }
}

/** Kubernetes OpenAPI schema of each object (types, required fields, enums). */
export function checkSchemas(docs) {
  const problems = [];
  for (const d of docs) {
    const Model = modelFor(d.apiVersion, d.kind);
    const id = `${d.kind}/${d.metadata?.name}`;
    if (!Model) {
      problems.push(`${id}: unknown apiVersion/kind ${d.apiVersion} ${d.kind}`);
      continue;
    }
    try {
      new Model(d).validate();
    } catch (e) {
      problems.push(`${id}: schema: ${String(e.message ?? e).split('\n')[0]}`);
    }
  }
  return problems;
}

// ---------- the image (Dockerfile), without a Docker engine

/** The build context's .dockerignore as a predicate on context-relative paths (a parent's exclusion counts). */
export function dockerignoreOf(root = repoRoot) {
  const f = join(root, '.dockerignore');
  const rules = (existsSync(f) ? readFileSync(f, 'utf8') : '').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')).map((l) => {
    const negate = l.startsWith('!');
    const glob = posix.normalize(l.slice(negate ? 1 : 0)).replace(/^\/+|\/+$/g, '');
    const re = glob.split('/').map((part) => (part === '**' ? '.*' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]'))).join('/').replace(/\.\*\//g, '(?:.*/)?');
    return { negate, re: new RegExp(`^${re}$`) };
  });
  const excludedSelf = (p) => rules.reduce((ex, r) => (r.re.test(p) ? !r.negate : ex), false);
  return (path) => {
    const parts = posix.normalize(path).replace(/^\.?\/+|\/+$/g, '').split('/');
    return parts.some((_, i) => excludedSelf(parts.slice(0, i + 1).join('/')));
  };
}

/** The Dockerfile as stages of { keyword, args, flags, line }. */
function parseDockerfile(text) {
  const stages = [];
  for (const ins of DockerfileParser.parse(text).getInstructions()) {
    const keyword = ins.getKeyword();
    const raw = ins.getArgumentsContent() ?? '';
    const flags = Object.fromEntries((ins.getFlags?.() ?? []).map((f) => [f.getName(), f.getValue()]));
    let args = ins.getArguments().map((a) => a.getValue()).filter((a) => !a.startsWith('--'));
    if (['COPY', 'ADD', 'ENTRYPOINT', 'CMD'].includes(keyword) && raw.trim().startsWith('[')) args = JSON.parse(raw);
    const step = { keyword, args, flags, raw, line: ins.getRange().start.line + 1 };
    if (keyword === 'FROM') stages.push({ name: ins.getBuildStage?.() ?? undefined, base: ins.getImageName?.() ?? args[0], line: step.line, steps: [] });
    else if (stages.length) stages.at(-1).steps.push(step);
  }
  return stages;
}

/** Whether `file` (absolute, in the image) lies in a directory the runtime stage holds. */
export const imageHolds = (image, file) => image.dirs.some((d) => file.startsWith(`${d}/`));

/**
 * Offline checks of the Dockerfile: dockerfile-utils' validator (syntax, instructions, flags, stage
 * names), then what twoway's image relies on. Returns the problems and, when the runtime stage's
 * contents can be told, `image`: its working directory and the directories it holds.
 */
export function checkDockerfile({ root = repoRoot, text } = {}) {
  const problems = [];
  text ??= readFileSync(join(root, 'Dockerfile'), 'utf8');
  for (const d of dockerfileUtils.validate(text)) problems.push(`Dockerfile:${d.range.start.line + 1}: ${d.message}`);
  const stages = parseDockerfile(text);
  if (stages.length < 2) problems.push('Dockerfile: not a multi-stage build (the runtime stage must not carry the build tools)');
  const at = (step) => `Dockerfile:${step.line}`;
  const excluded = dockerignoreOf(root);
  const stageNamed = (n) => stages.findIndex((st) => st.name === n);
  /** The stage and the ones it is built FROM, nearest first. */
  const lineage = (i) => {
    const out = [];
    for (let st = stages[i]; st; st = stages[stageNamed(st.base)]) out.push(st);
    return out;
  };

  stages.forEach((stage, i) => {
    for (const step of stage.steps) {
      if (step.keyword !== 'COPY' && step.keyword !== 'ADD') continue;
      const sources = step.args.slice(0, -1);
      const from = step.flags.from;
      if (from !== undefined) {
        const j = stageNamed(from);
        if (j < 0 && !/^\d+$/.test(from) && !/[:/]/.test(from)) problems.push(`${at(step)}: COPY --from=${from} names no stage`);
        else if (j >= i) problems.push(`${at(step)}: COPY --from=${from} names a later stage`);
        continue;
      }
      for (const src of sources) {
        if (/[*?[]/.test(src)) continue; // a pattern may match nothing on purpose
        if (!existsSync(join(root, src))) problems.push(`${at(step)}: COPY source ${src} does not exist`);
        else if (src !== '.' && excluded(src)) problems.push(`${at(step)}: COPY source ${src} is excluded by .dockerignore`);
      }
    }
  });

  // The runtime stage: the last one, what `docker build` produces without --target.
  const runtime = stages.at(-1);
  if (!runtime) return { problems, image: undefined };
  const steps = runtime.steps;
  const user = steps.filter((st) => st.keyword === 'USER').at(-1);
  const uid = user?.args[0]?.split(':')[0];
  // Numeric: Kubernetes' runAsNonRoot can only verify a numeric user.
  if (!user || !/^\d+$/.test(uid) || Number(uid) === 0) problems.push(`Dockerfile: the runtime stage runs as ${user ? user.args[0] : 'root (no USER)'}, not as a numeric non-root user`);
  else if (steps.indexOf(user) < steps.findLastIndex((st) => st.keyword === 'RUN')) problems.push(`${at(user)}: a RUN after USER in the runtime stage runs as that user; set USER last`);
  for (const st of steps) {
    if (/\btsx\b/.test(st.raw)) problems.push(`${at(st)}: the runtime stage mentions tsx (a TypeScript loader at run time)`);
    if (st.keyword === 'RUN' && /\bnpm (ci|install|i)\b/.test(st.raw) && !/--omit[= ]dev/.test(st.raw)) problems.push(`${at(st)}: npm installs dev dependencies in the runtime stage`);
  }

  // What it holds: the tree scripts/stage-runtime.mjs laid out in a build stage, copied whole.
  let image;
  const workdir = steps.filter((st) => st.keyword === 'WORKDIR').at(-1)?.args[0] ?? '/';
  for (const st of steps.filter((x) => x.keyword === 'COPY' && x.flags.from !== undefined)) {
    const j = stageNamed(st.flags.from);
    const src = posix.normalize(`${st.args[0]}/`);
    const staging = j < 0 ? undefined : lineage(j).flatMap((x) => x.steps).find((x) => x.keyword === 'RUN' && x.raw.includes('scripts/stage-runtime.mjs'));
    const stagedDir = staging && /scripts\/stage-runtime\.mjs\s+(\S+)/.exec(staging.raw)?.[1];
    if (!stagedDir || posix.normalize(`${stagedDir}/`) !== src) {
      problems.push(`${at(st)}: the runtime stage copies ${st.args[0]} from ${st.flags.from}; it takes only the tree scripts/stage-runtime.mjs stages (bundles, console, runtime node_modules)`);
      continue;
    }
    if (!/\bnpm run build\b|scripts\/build\.mjs/.test(staging.raw.split('scripts/stage-runtime.mjs')[0]) && !lineage(j).flatMap((x) => x.steps).some((x) => x !== staging && x.keyword === 'RUN' && /\bnpm run build\b|scripts\/build\.mjs/.test(x.raw))) {
      problems.push(`${at(staging)}: stages the runtime tree without building it first (npm run build)`);
    }
    const dest = posix.resolve(workdir, st.args.at(-1));
    image = { workdir, dirs: [...RUNTIME_DIRS.map((d) => posix.join(dest, d)), posix.join(dest, 'node_modules')] };
  }
  if (!image) problems.push('Dockerfile: the runtime stage does not copy the staged runtime tree (scripts/stage-runtime.mjs)');

  // The entrypoint picks a service by TWOWAY_SERVICE: the same services, and their bundles.
  const ep = steps.filter((st) => st.keyword === 'ENTRYPOINT').at(-1);
  const epCopy = ep && steps.find((st) => st.keyword === 'COPY' && st.flags.from === undefined && posix.resolve(workdir, st.args.at(-1)) === ep.args[0]);
  if (!ep) problems.push('Dockerfile: the runtime stage has no ENTRYPOINT');
  else if (!epCopy) problems.push(`${at(ep)}: the entrypoint ${ep.args[0]} is not copied from the build context`);
  else if (existsSync(join(root, epCopy.args[0]))) {
    const script = readFileSync(join(root, epCopy.args[0]), 'utf8');
    const listed = /^\s*([a-z|-]+)\)\s*$/m.exec(script)?.[1]?.split('|').sort() ?? [];
    if (JSON.stringify(listed) !== JSON.stringify([...SERVICES].sort())) problems.push(`${epCopy.args[0]}: TWOWAY_SERVICE accepts [${listed}], not the services [${[...SERVICES].sort()}]`);
    if (!script.includes(serviceBundle('${TWOWAY_SERVICE}'))) problems.push(`${epCopy.args[0]}: does not run ${serviceBundle('${TWOWAY_SERVICE}')}`);
    if (/\btsx\b/.test(script.replace(/^#.*$/gm, ''))) problems.push(`${epCopy.args[0]}: runs tsx (a TypeScript loader at run time)`);
  }
  return { problems, image };
}

// ---------- invariants

const matches = (selector, labels) => !!selector && Object.entries(selector).every(([k, v]) => labels?.[k] === v);

function matchesLabelSelector(sel, labels) {
  if (!sel) return false;
  if (sel.matchLabels && !matches(sel.matchLabels, labels)) return false;
  for (const e of sel.matchExpressions ?? []) {
    const v = labels?.[e.key];
    if (e.operator === 'In' && !e.values.includes(v)) return false;
    if (e.operator === 'NotIn' && e.values.includes(v)) return false;
    if (e.operator === 'Exists' && v === undefined) return false;
    if (e.operator === 'DoesNotExist' && v !== undefined) return false;
  }
  return true;
}

function portOf(container, ref) {
  return (container.ports ?? []).find((p) => (typeof ref === 'number' ? p.containerPort === ref : p.name === ref));
}

/**
 * The invariants twoway's manifests must keep. `docs` is one rendered target; `externalSecrets` the
 * Secrets it references without containing; `namespace` the one every namespaced object must be in.
 */
export function checkDocs(docs, { externalSecrets = [], namespace, requireImageTags = true, root = repoRoot, image = checkDockerfile({ root }).image } = {}) {
  const problems = [];
  const bad = (obj, msg) => problems.push(`${obj.kind}/${obj.metadata?.name}: ${msg}`);
  const byKind = (k) => docs.filter((d) => d.kind === k);
  const named = (k, n) => docs.find((d) => d.kind === k && d.metadata?.name === n);
  const workloads = docs.filter((d) => WORKLOAD_KINDS.has(d.kind));
  const secretNames = new Set([...byKind('Secret').map((s) => s.metadata.name), ...externalSecrets]);
  const referencedSecrets = new Set();
  const hpaTargets = new Set(byKind('HorizontalPodAutoscaler').map((h) => h.spec?.scaleTargetRef?.name));

  for (const d of docs) {
    if (!d.metadata?.name) problems.push(`${d.kind}: no metadata.name`);
    if (namespace && !CLUSTER_SCOPED.has(d.kind) && d.metadata?.namespace !== namespace) bad(d, `namespace ${d.metadata?.namespace} is not ${namespace}`);
    if (d.kind === 'Secret') bad(d, 'Secrets are created outside Git (list the name in external-secrets.txt)');
  }

  const checkSecretRef = (obj, name, key) => {
    referencedSecrets.add(name);
    if (!secretNames.has(name)) bad(obj, `Secret ${name} is neither rendered nor in external-secrets.txt`);
    const s = named('Secret', name);
    if (s && key && !(key in (s.data ?? {})) && !(key in (s.stringData ?? {}))) bad(obj, `Secret ${name} has no key ${key}`);
  };
  const checkConfigMapRef = (obj, name, key) => {
    const cm = named('ConfigMap', name);
    if (!cm) bad(obj, `ConfigMap ${name} does not exist`);
    else if (key && !(key in (cm.data ?? {}))) bad(obj, `ConfigMap ${name} has no key ${key}`);
  };

  for (const w of workloads) {
    const spec = w.spec ?? {};
    const tpl = spec.template ?? {};
    const pod = tpl.spec ?? {};
    const podLabels = tpl.metadata?.labels ?? {};
    if (!matches(spec.selector?.matchLabels, podLabels)) bad(w, 'selector.matchLabels do not match the pod template labels');
    if (pod.securityContext?.runAsNonRoot !== true) bad(w, 'pod securityContext.runAsNonRoot is not true');
    if (pod.securityContext?.seccompProfile?.type !== 'RuntimeDefault') bad(w, 'pod seccompProfile is not RuntimeDefault');
    if (w.kind === 'Deployment' && hpaTargets.has(w.metadata.name) && spec.replicas !== undefined) bad(w, 'sets replicas although a HorizontalPodAutoscaler owns them');
    const volumes = new Map((pod.volumes ?? []).map((v) => [v.name, v]));
    for (const v of pod.volumes ?? []) {
      // An optional ConfigMap (the gateway's server-ca) is created per installation, outside Git.
      if (v.configMap && !v.configMap.optional) checkConfigMapRef(w, v.configMap.name);
      if (v.secret) checkSecretRef(w, v.secret.secretName);
    }
    const claimNames = new Set((spec.volumeClaimTemplates ?? []).map((c) => c.metadata?.name));
    if (w.kind === 'StatefulSet' && claimNames.size === 0) bad(w, 'StatefulSet without volumeClaimTemplates (its data would not survive a restart)');

    for (const c of pod.containers ?? []) {
      const cid = `container ${c.name}`;
      if (!c.image) bad(w, `${cid} has no image`);
      // The base leaves twoway's own image untagged: each overlay pins it.
      else if (requireImageTags && !c.image.includes(':') && !c.image.includes('@')) bad(w, `${cid} image ${c.image} has no tag`);
      else if (/:latest$/.test(c.image)) bad(w, `${cid} image uses :latest`);
      for (const probe of ['readinessProbe', 'livenessProbe']) {
        const p = c[probe];
        if (!p) bad(w, `${cid} has no ${probe}`);
        else if (p.httpGet && !portOf(c, p.httpGet.port)) bad(w, `${cid} ${probe} port ${p.httpGet.port} is not a container port`);
      }
      const r = c.resources ?? {};
      if (!r.requests?.cpu || !r.requests?.memory) bad(w, `${cid} has no cpu and memory requests`);
      if (!r.limits?.memory) bad(w, `${cid} has no memory limit`);
      const sc = c.securityContext ?? {};
      if (sc.allowPrivilegeEscalation !== false) bad(w, `${cid} allows privilege escalation`);
      if (sc.readOnlyRootFilesystem !== true) bad(w, `${cid} root filesystem is writable`);
      if (!(sc.capabilities?.drop ?? []).includes('ALL')) bad(w, `${cid} does not drop ALL capabilities`);
      if (sc.privileged) bad(w, `${cid} is privileged`);
      for (const m of c.volumeMounts ?? []) {
        if (!volumes.has(m.name) && !claimNames.has(m.name)) bad(w, `${cid} mounts unknown volume ${m.name}`);
      }
      for (const ef of c.envFrom ?? []) {
        if (ef.configMapRef) checkConfigMapRef(w, ef.configMapRef.name);
        if (ef.secretRef) checkSecretRef(w, ef.secretRef.name);
      }
      const env = {};
      for (const ef of c.envFrom ?? []) if (ef.configMapRef) Object.assign(env, named('ConfigMap', ef.configMapRef.name)?.data ?? {});
      for (const e of c.env ?? []) {
        if (e.valueFrom?.secretKeyRef) checkSecretRef(w, e.valueFrom.secretKeyRef.name, e.valueFrom.secretKeyRef.key);
        if (e.valueFrom?.configMapKeyRef) checkConfigMapRef(w, e.valueFrom.configMapKeyRef.name, e.valueFrom.configMapKeyRef.key);
        env[e.name] = e.value ?? { from: e.valueFrom };
      }

      if (c.image && TWOWAY_IMAGE.test(c.image)) {
        // One image for all services: the command runs the service's bundle with plain node (no
        // TypeScript loader), a bundle the build makes and the image holds.
        const cmd = c.command ?? [];
        const path = cmd.at(-1) ?? '';
        const flags = cmd.slice(1, -1);
        const m = /^services\/([a-z-]+)\/dist\/main\.js$/.exec(path);
        const loader = flags.find((f) => LOADER_FLAGS.some((l) => f === l || f.startsWith(`${l}=`)));
        if (cmd[0] !== 'node' || !m || !flags.every((f) => f.startsWith('--')) || loader) bad(w, `${cid} command is not node [--flags] services/<name>/dist/main.js${loader ? ` (${loader} loads code at run time)` : ''}`);
        else {
          const service = m[1];
          if (!SERVICES.includes(service) || serviceBundle(service) !== path || !existsSync(join(root, BUILD_TARGETS[service].entry))) bad(w, `${cid} runs ${path}, which the build does not make`);
          else if (image && !imageHolds(image, posix.resolve(c.workingDir ?? image.workdir, path))) bad(w, `${cid} runs ${path}, which the image does not hold (Dockerfile)`);
          if (service !== w.metadata.name) bad(w, `${cid} runs ${service} but the workload is named ${w.metadata.name}`);
          const http = portOf(c, 'http');
          if (!http) bad(w, `${cid} has no port named http`);
          else {
            if (String(env.TWOWAY_HTTP_PORT) !== String(http.containerPort)) bad(w, `${cid} TWOWAY_HTTP_PORT ${env.TWOWAY_HTTP_PORT} is not its http port ${http.containerPort}`);
            if (SERVICE_PORTS[service] !== undefined && http.containerPort !== SERVICE_PORTS[service]) bad(w, `${cid} http port ${http.containerPort} is not ${SERVICE_PORTS[service]}`);
          }
          if (env.TWOWAY_HTTP_HOST !== '0.0.0.0') bad(w, `${cid} TWOWAY_HTTP_HOST is not 0.0.0.0 (probes would not reach it)`);
          if (c.readinessProbe?.httpGet?.path !== '/readyz') bad(w, `${cid} readinessProbe is not GET /readyz`);
          if (c.livenessProbe?.httpGet?.path !== '/healthz') bad(w, `${cid} livenessProbe is not GET /healthz`);
          if (service !== 'gateway') {
            if (!env.TWOWAY_NATS_URL) bad(w, `${cid} has no TWOWAY_NATS_URL`);
            if (podLabels['twoway.io/nats-client'] !== 'true') bad(w, 'pods lack the twoway.io/nats-client label the NATS NetworkPolicy admits');
          }
          if (DB_OWNERS.includes(service) && !(c.env ?? []).some((e) => e.name === 'TWOWAY_DB_URL' && e.valueFrom?.secretKeyRef)) bad(w, `${cid} does not take TWOWAY_DB_URL from a Secret`);
          if (service === 'account-settings' && !(c.env ?? []).some((e) => e.name === 'TWOWAY_BOOTSTRAP_TOKEN' && e.valueFrom?.secretKeyRef)) bad(w, `${cid} does not take TWOWAY_BOOTSTRAP_TOKEN from a Secret`);
          if (service === 'gateway') {
            for (const [k, svc] of [['TWOWAY_ACCOUNT_SETTINGS_URL', 'account-settings'], ['TWOWAY_CERT_REGISTRY_URL', 'cert-registry'], ['TWOWAY_AUDIT_URL', 'audit']]) {
              const u = env[k];
              const s = named('Service', svc);
              const port = s?.spec?.ports?.[0]?.port;
              if (u !== `http://${svc}:${port}`) bad(w, `${cid} ${k} is ${u}, not the ${svc} Service (http://${svc}:${port})`);
            }
          }
          if (service === 'broker') {
            for (const k of ['TWOWAY_TLS_CERT_FILE', 'TWOWAY_TLS_KEY_FILE']) {
              const file = env[k];
              const mount = (c.volumeMounts ?? []).find((vm) => typeof file === 'string' && file.startsWith(`${vm.mountPath}/`));
              const vol = mount && volumes.get(mount.name);
              if (!vol?.secret) bad(w, `${cid} ${k} (${file}) is not inside a mounted Secret`);
              else {
                const s = named('Secret', vol.secret.secretName);
                const key = file.slice(mount.mountPath.length + 1);
                if (s && !(key in (s.data ?? {}))) bad(w, `${cid} ${k}: Secret ${vol.secret.secretName} has no key ${key}`);
              }
            }
            // Every MQTT listener the broker opens is a named container port of the same number, and no
            // port is named for a listener that is off.
            for (const l of BROKER_LISTENERS) {
              const port = portOf(c, l.port);
              const value = env[l.env] ?? l.default;
              if (value === undefined) {
                if (port) bad(w, `${cid} has a ${l.port} port but ${l.env} is not set`);
              } else if (!port || String(port.containerPort) !== String(value)) bad(w, `${cid} ${l.env} ${value} is not its ${l.port} port (${port?.containerPort ?? 'none'})`);
            }
            if (!env.TWOWAY_BROKER_ID?.from?.fieldRef) bad(w, `${cid} TWOWAY_BROKER_ID is not the pod name (replica ids must be unique)`);
            // Graceful drain (docs/broker.md): preStop, then the drain window, then stopping must all end
            // before the kubelet's SIGKILL, or the last sessions are cut instead of drained.
            const preStopS = c.lifecycle?.preStop?.exec?.command?.[0] === 'sleep' ? Number(c.lifecycle.preStop.exec.command[1]) : 0;
            const drainS = Number(env.TWOWAY_DRAIN_WINDOW_MS ?? 20000) / 1000;
            const graceS = spec.template.spec.terminationGracePeriodSeconds ?? 30;
            const STOP_MARGIN_S = 10;
            if (preStopS + drainS + STOP_MARGIN_S > graceS) bad(w, `${cid} preStop ${preStopS} s + drain ${drainS} s + ${STOP_MARGIN_S} s to stop exceeds terminationGracePeriodSeconds ${graceS}`);
            if (spec.strategy?.rollingUpdate?.maxUnavailable !== 0) bad(w, 'broker rolling update may take replicas away before their successors are ready (maxUnavailable is not 0)');
          }
        }
      }
    }

    // A PodDisruptionBudget for every replicated workload. A single PostgreSQL has none on purpose: a
    // budget that never allows its eviction would block every node drain and cluster upgrade.
    const single = w.kind === 'StatefulSet' && (spec.replicas ?? 1) === 1;
    if (!single && !byKind('PodDisruptionBudget').some((p) => matchesLabelSelector(p.spec?.selector, podLabels))) bad(w, 'no PodDisruptionBudget selects its pods');
    // Every pod is admitted by some NetworkPolicy besides the default deny.
    const policies = byKind('NetworkPolicy').filter((np) => Object.keys(np.spec?.podSelector ?? {}).length > 0);
    if (!policies.some((np) => matchesLabelSelector(np.spec.podSelector, podLabels))) bad(w, 'no NetworkPolicy selects its pods');
  }

  for (const s of externalSecrets) {
    const usedByIngress = byKind('Ingress').some((i) => (i.spec?.tls ?? []).some((t) => t.secretName === s));
    if (!referencedSecrets.has(s) && !usedByIngress) problems.push(`external-secrets.txt: ${s} is referenced by nothing`);
  }

  // Services select pods, and their target ports exist on those pods.
  const podsOf = (selector) => workloads.filter((w) => matches(selector, w.spec?.template?.metadata?.labels));
  for (const s of byKind('Service')) {
    const targets = podsOf(s.spec?.selector);
    if (targets.length === 0) {
      bad(s, 'selects no workload');
      continue;
    }
    for (const p of s.spec?.ports ?? []) {
      const tp = p.targetPort ?? p.port;
      if (!targets.every((w) => (w.spec.template.spec.containers ?? []).some((c) => portOf(c, tp)))) bad(s, `targetPort ${tp} is not a container port of the selected pods`);
    }
  }
  for (const sts of byKind('StatefulSet')) {
    const headless = named('Service', sts.spec?.serviceName);
    if (!headless) bad(sts, `serviceName ${sts.spec?.serviceName} is not a Service`);
  }

  for (const h of byKind('HorizontalPodAutoscaler')) {
    const ref = h.spec?.scaleTargetRef ?? {};
    if (!named(ref.kind, ref.name)) bad(h, `scaleTargetRef ${ref.kind}/${ref.name} does not exist`);
    if (!(h.spec?.minReplicas >= 1) || !(h.spec?.maxReplicas >= h.spec?.minReplicas)) bad(h, 'minReplicas/maxReplicas are inconsistent');
    const target = named(ref.kind, ref.name);
    for (const c of target?.spec?.template?.spec?.containers ?? []) {
      for (const m of h.spec?.metrics ?? []) {
        const r = m.resource?.name;
        if (m.type === 'Resource' && !c.resources?.requests?.[r]) bad(h, `scales on ${r} but container ${c.name} requests no ${r}`);
      }
    }
  }

  for (const ing of byKind('Ingress')) {
    for (const rule of ing.spec?.rules ?? []) {
      for (const p of rule.http?.paths ?? []) {
        const b = p.backend?.service;
        const s = b && named('Service', b.name);
        if (!s) bad(ing, `backend Service ${b?.name} does not exist`);
        else if (!(s.spec.ports ?? []).some((sp) => (b.port?.name ? sp.name === b.port.name : sp.port === b.port?.number))) bad(ing, `backend port of ${b.name} does not exist`);
      }
    }
  }

  // The broker is reached by devices through a TCP load balancer that keeps their source address.
  const broker = named('Deployment', 'broker');
  if (broker) {
    const lb = byKind('Service').find((s) => s.spec?.type === 'LoadBalancer' && matches(s.spec.selector, broker.spec.template.metadata.labels));
    if (!lb) bad(broker, 'no LoadBalancer Service selects the broker');
    else {
      if (!(lb.spec.ports ?? []).some((p) => p.port === 8883 && (p.protocol ?? 'TCP') === 'TCP')) bad(lb, 'does not expose 8883/TCP');
      if (lb.spec.externalTrafficPolicy !== 'Local') bad(lb, 'externalTrafficPolicy is not Local (device source addresses would be lost)');
      // Each MQTT listener (TLS, and wss when enabled) reaches devices through it.
      const container = broker.spec.template.spec.containers?.[0] ?? {};
      for (const l of BROKER_LISTENERS) {
        const cp = portOf(container, l.port);
        if (!cp) continue;
        const exposed = (lb.spec.ports ?? []).some((p) => (p.targetPort === l.port || p.targetPort === cp.containerPort) && (p.protocol ?? 'TCP') === 'TCP');
        if (!exposed) bad(lb, `does not expose the broker's ${l.port} port`);
      }
    }
    if (!hpaTargets.has('broker')) bad(broker, 'no HorizontalPodAutoscaler scales the broker');
  }

  // NetworkPolicies: default deny, and who may reach PostgreSQL and the services' HTTP ports.
  const nps = byKind('NetworkPolicy');
  if (!nps.some((np) => Object.keys(np.spec?.podSelector ?? {}).length === 0 && (np.spec?.policyTypes ?? []).includes('Ingress') && !(np.spec?.ingress ?? []).length)) {
    problems.push('NetworkPolicy: no default deny of ingress for the namespace');
  }
  /** Workload names whose pods an ingress rule admits on `port` to pods with `labels`. */
  const admitted = (labels, port) => {
    const out = new Set();
    for (const np of nps) {
      if (!matchesLabelSelector(np.spec?.podSelector, labels) || Object.keys(np.spec?.podSelector ?? {}).length === 0) continue;
      for (const rule of np.spec?.ingress ?? []) {
        if (rule.ports && !rule.ports.some((p) => p.port === port)) continue;
        if (!rule.from) {
          out.add('*');
          continue;
        }
        for (const f of rule.from) {
          if (f.ipBlock || (f.namespaceSelector && !f.podSelector)) out.add('*external*');
          else if (f.podSelector) for (const w of workloads) if (matchesLabelSelector(f.podSelector, w.spec.template.metadata.labels)) out.add(w.metadata.name);
        }
      }
    }
    return [...out].sort();
  };
  const pg = named('StatefulSet', 'postgres');
  if (pg) {
    const owners = workloads.filter((w) => (w.spec.template.spec.containers ?? []).some((c) => (c.env ?? []).some((e) => e.name === 'TWOWAY_DB_URL'))).map((w) => w.metadata.name).sort();
    const who = admitted(pg.spec.template.metadata.labels, 5432);
    if (JSON.stringify(who) !== JSON.stringify(owners)) bad(pg, `port 5432 is open to [${who}], expected exactly the database owners [${owners}]`);
  }
  // Devices connect from anywhere: every MQTT listener port of the broker is open to all.
  if (broker) {
    const container = broker.spec.template.spec.containers?.[0] ?? {};
    for (const l of BROKER_LISTENERS) {
      const cp = portOf(container, l.port);
      if (cp && !admitted(broker.spec.template.metadata.labels, cp.containerPort).includes('*')) bad(broker, `${l.port} port ${cp.containerPort} is not open to devices (no NetworkPolicy admits it from anywhere)`);
    }
  }
  for (const svc of DB_OWNERS) {
    const w = named('Deployment', svc);
    if (!w) continue;
    const who = admitted(w.spec.template.metadata.labels, SERVICE_PORTS[svc]);
    if (JSON.stringify(who) !== JSON.stringify(['gateway'])) bad(w, `HTTP port is open to [${who}], expected only the gateway`);
  }

  // NATS: a JetStream cluster whose routes name every StatefulSet pod.
  const nats = named('StatefulSet', 'nats');
  if (nats) {
    const cmName = (nats.spec.template.spec.volumes ?? []).find((v) => v.configMap)?.configMap?.name;
    const conf = named('ConfigMap', cmName)?.data?.['nats.conf'] ?? '';
    if (!/jetstream\s*\{/.test(conf)) bad(nats, 'config has no jetstream block');
    const routes = [...conf.matchAll(/nats:\/\/([a-z0-9-]+)\.([a-z0-9-]+):6222/g)].map((m) => `${m[1]}.${m[2]}`).sort();
    const expected = Array.from({ length: nats.spec.replicas ?? 1 }, (_, i) => `nats-${i}.${nats.spec.serviceName}`).sort();
    if (JSON.stringify(routes) !== JSON.stringify(expected)) bad(nats, `cluster routes [${routes}] do not name every pod [${expected}]`);
    if ((nats.spec.replicas ?? 1) < 3) bad(nats, 'fewer than 3 replicas: JetStream R3 streams need three nodes');
    if (!/max_file_store/.test(conf)) bad(nats, 'JetStream file store is unbounded');
    // A stream cannot have more copies than there are JetStream nodes: creating it would fail.
    for (const cm of docs.filter((d) => d.kind === 'ConfigMap' && d.data?.TWOWAY_NATS_REPLICAS !== undefined)) {
      const r = Number(cm.data.TWOWAY_NATS_REPLICAS);
      if (!Number.isInteger(r) || r < 1 || r > (nats.spec.replicas ?? 1)) bad(cm, `TWOWAY_NATS_REPLICAS ${cm.data.TWOWAY_NATS_REPLICAS} is not between 1 and the ${nats.spec.replicas ?? 1} NATS nodes`);
    }
  }

  return problems;
}

/** Everything, for the command line and the test. */
export function validateAll() {
  const result = { files: [...checkFiles(), ...checkDockerfile().problems], targets: {} };
  if (!kubectlAvailable()) return { ...result, kubectl: false };
  for (const t of TARGETS) {
    const docs = render(t);
    const externalSecrets = externalSecretsOf(t) ?? externalSecretsOf('overlays/dev') ?? [];
    result.targets[t] = { count: docs.length, problems: [...checkSchemas(docs), ...checkDocs(docs, { externalSecrets, namespace: t === 'base' ? undefined : namespaceOf(t), requireImageTags: t !== 'base' })] };
  }
  return { ...result, kubectl: true };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const r = validateAll();
  let failed = r.files.length > 0;
  for (const p of r.files) console.log(`files: ${p}`);
  if (!r.kubectl) {
    console.log('kubectl not found: rendering and object checks skipped (install kubectl, which bundles kustomize)');
    failed = true;
  }
  for (const [t, { count, problems }] of Object.entries(r.targets)) {
    console.log(`${t}: ${count} objects, ${problems.length} problems`);
    for (const p of problems) console.log(`  ${p}`);
    failed ||= problems.length > 0;
  }
  process.exit(failed ? 1 : 0);
}
