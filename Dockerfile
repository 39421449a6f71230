# syntax=docker/dockerfile:1
# One image for every twoway service, compiled ahead of time. The service is chosen at run time:
#   docker run -e TWOWAY_SERVICE=broker twoway            (entrypoint runs services/$TWOWAY_SERVICE/dist/main.js)
#   command: ["node", "services/broker/dist/main.js"]                          (Kubernetes manifests)
# The runtime stage holds the esbuild bundles (scripts/build.mjs), the console and a node_modules with
# only the packages the bundles leave external (scripts/stage-runtime.mjs): no TypeScript, no loader,
# no dev dependencies. Source maps ship beside the bundles: NODE_OPTIONS=--enable-source-maps points
# stack traces at the TypeScript sources (off by default: it costs start-up time, docs/benchmarks.md).
# No secret is baked in: database URLs, the bootstrap token and TLS material come
# from the orchestrator. No HEALTHCHECK: each service has its own port, and Kubernetes ignores it in
# favour of the manifests' probes (GET /healthz, /readyz).

ARG NODE_IMAGE=node:20-bookworm-slim

# --- manifests: only the package.json files, so the npm ci layer is cached until a dependency changes
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN mkdir /out && cp package.json package-lock.json /out/ \
 && find libs services apps test -maxdepth 2 -name package.json -not -path '*/node_modules/*' -exec cp --parents {} /out/ \;

# --- deps: the whole workspace install, dev dependencies included (esbuild builds)
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
# better-sqlite3 builds from source when no prebuilt binary fits.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
ENV PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 \
    NX_DAEMON=false \
    NX_NO_CLOUD=true
COPY --from=manifests /out/ ./
RUN npm ci --no-audit --no-fund

# --- build: bundles of every service and the CLI, the console, then the runtime tree in /runtime
FROM deps AS build
COPY . .
RUN npm run build \
 && node scripts/stage-runtime.mjs /runtime

# --- runtime
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    TWOWAY_HTTP_HOST=0.0.0.0 \
    TWOWAY_DATA_DIR=/data \
    TWOWAY_CONSOLE_DIR=/app/apps/console/dist
WORKDIR /app
# services/<name>/dist, apps/cli/dist, apps/console/dist and node_modules (better-sqlite3, pg,
# aedes-persistence and their dependencies), owned by root and read-only for the service user.
COPY --from=build /runtime/ ./
COPY infra/docker/entrypoint.sh /usr/local/bin/twoway-entrypoint
# Only /data is written, a volume in Kubernetes, so the root filesystem can be read-only.
RUN chmod 0555 /usr/local/bin/twoway-entrypoint \
 && ln -s /app/apps/cli/dist/twoway.js /usr/local/bin/twoway \
 && mkdir -p /data && chown node:node /data
# The node image's unprivileged user (uid 1000).
USER 1000:1000
VOLUME ["/data"]
# 8080 gateway, 8081-8084 service HTTP (health, readiness, API), 8883 MQTT over TLS, 8884 MQTT over
# secure WebSocket (when TWOWAY_MQTT_WSS_PORT sets it).
EXPOSE 8080 8081 8082 8083 8084 8883 8884
ENTRYPOINT ["/usr/local/bin/twoway-entrypoint"]
