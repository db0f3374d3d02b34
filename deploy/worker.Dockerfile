# Workers: the SDK, the examples and the `resonate` CLI (node/bin/resonate.js), on the same bases
# as deploy/Dockerfile (see there for the difference between the default and the local base).
# One image for every example; the command picks the worker, RESONATE_URL the node:
#   docker build -f deploy/worker.Dockerfile -t resonate-mesh/worker:0.1.0 .
#   docker run -e RESONATE_URL=http://node:8001 resonate-mesh/worker:0.1.0 examples/fan-out-fan-in/src/worker.ts
# checkov:skip=CKV_DOCKER_7: the base is a build argument whose default carries a version tag (node:20-bookworm-slim)
ARG BUILD_BASE=node:20-bookworm-slim
ARG RUNTIME_BASE=node:20-bookworm-slim

# Only what `npm ci` reads (every package.json and the lockfile): the stages below copy this, so a
# change to the sources alone keeps their `npm ci` layers cached.
FROM ${BUILD_BASE} AS manifests
WORKDIR /src
COPY . .
RUN mkdir /manifests \
 && find . -name node_modules -prune -o \( -name package.json -o -name package-lock.json \) -exec cp --parents -t /manifests {} +

FROM ${BUILD_BASE} AS build
# Extra CAs for the registry traffic of this stage (a TLS-inspecting proxy); unset by default.
ARG NODE_EXTRA_CA_CERTS
WORKDIR /src
ENV npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
COPY --from=manifests /manifests/ ./
# Every dependency; no scripts yet: the root's `prepare` builds the sources, which come next.
RUN npm ci --ignore-scripts
COPY . .
# The compiled JavaScript, then the files of the node (its CLI), the SDK and the examples.
RUN npm run build --if-present \
 && mkdir -p /out \
 && cp -a package.json /out/ \
 && for pkg in node sdk; do \
      mkdir -p "/out/$pkg" && cp -a "$pkg/package.json" "/out/$pkg/" \
      && if [ -d "$pkg/bin" ]; then cp -a "$pkg/bin" "/out/$pkg/"; fi \
      && if [ -d "$pkg/dist" ]; then cp -a "$pkg/dist" "/out/$pkg/"; else cp -a "$pkg/src" "/out/$pkg/"; fi; \
    done \
 && for ex in examples/*/; do mkdir -p "/out/$ex" && cp -a "$ex/package.json" "$ex/src" "/out/$ex"; done

# Production dependencies of the SDK and the examples. The examples are TypeScript run through tsx:
# keep the tsx they pin even where no production dependency brings it.
FROM ${BUILD_BASE} AS runtime-deps
ARG NODE_EXTRA_CA_CERTS
WORKDIR /src
ENV npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
COPY --from=manifests /manifests/ ./
RUN npm ci --omit=dev --ignore-scripts \
 && if [ ! -d node_modules/tsx ]; then \
      npm install --no-save --ignore-scripts --omit=dev "tsx@$(node -p 'require("./examples/hello-world/package.json").devDependencies.tsx')"; \
    fi \
 && rm -rf node_modules/@resonate-mesh/test

FROM ${RUNTIME_BASE}
LABEL org.opencontainers.image.title="resonate-mesh example workers"
ENV NODE_ENV=production RESONATE_URL=http://resonate:8001
WORKDIR /app
COPY --from=runtime-deps /src/node_modules /app/node_modules
COPY --from=build /out /app
USER 10001:10001
# A worker serves no port: it is healthy while its process runs (the SDK reconnects on its own).
HEALTHCHECK NONE
ENTRYPOINT ["node", "--import", "tsx"]
CMD ["examples/hello-world/src/worker.ts"]
