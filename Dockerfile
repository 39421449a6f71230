# syntax=docker/dockerfile:1
# One image for every twoway service. The service is chosen at run time:
#   docker run -e TWOWAY_SERVICE=broker twoway            (entrypoint picks services/$TWOWAY_SERVICE)
#   command: ["node", "--import", "tsx", "services/broker/src/main.ts"]   (Kubernetes manifests)
# Services run from TypeScript through tsx, as in development; nothing is compiled ahead.
# No secret is baked in: database URLs, the bootstrap token and TLS material come from the orchestrator.

ARG NODE_IMAGE=node:20-bookworm-slim

# --- manifests: only the package.json files, so the npm ci layer is cached until a dependency changes
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY . .
RUN mkdir /out && cp package.json package-lock.json /out/ \
 && find libs services apps test -maxdepth 2 -name package.json -not -path '*/node_modules/*' -exec cp --parents {} /out/ \;

# --- deps: the whole workspace install (tsx, the runtime loader, is a root devDependency)
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

# --- build: the static console the gateway serves
FROM deps AS build
COPY . .
RUN npm run build -w apps/console

# --- runtime
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production \
    TWOWAY_HTTP_HOST=0.0.0.0 \
    TWOWAY_DATA_DIR=/data \
    TWOWAY_CONSOLE_DIR=/app/apps/console/dist
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/package.json /app/package-lock.json /app/tsconfig.base.json /app/tsconfig.json ./
COPY --from=build /app/libs ./libs
COPY --from=build /app/services ./services
COPY --from=build /app/apps ./apps
COPY infra/docker/entrypoint.sh /usr/local/bin/twoway-entrypoint
# Owned by root and read-only for the service user; only /data and /tmp are written (tsx keeps its
# transpile cache in the OS temp dir), both volumes in Kubernetes so the root filesystem can be read-only.
RUN chmod 0555 /usr/local/bin/twoway-entrypoint \
 && mkdir -p /data && chown node:node /data
# The node image's unprivileged user (uid 1000).
USER 1000:1000
VOLUME ["/data"]
# 8080 gateway, 8081-8084 service HTTP (health, readiness, API), 8883 MQTT over TLS, 8884 MQTT over
# secure WebSocket (when TWOWAY_MQTT_WSS_PORT sets it).
EXPOSE 8080 8081 8082 8083 8084 8883 8884
ENTRYPOINT ["/usr/local/bin/twoway-entrypoint"]
