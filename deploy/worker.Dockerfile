# Workers: the SDK, the examples and the `resonate` CLI (node/bin/resonate.js), on the same bases
# as deploy/Dockerfile (see there for the difference between the default and the local base).
# One image for every example; the command picks the worker, RESONATE_URL the node:
#   docker build -f deploy/worker.Dockerfile -t resonate-mesh/worker:0.1.0 .
#   docker run -e RESONATE_URL=http://node:8001 resonate-mesh/worker:0.1.0 examples/fan-out-fan-in/src/worker.ts
# checkov:skip=CKV_DOCKER_7: the base is a build argument whose default carries a version tag (node:20-bookworm-slim)
ARG BUILD_BASE=node:20-bookworm-slim
ARG RUNTIME_BASE=node:20-bookworm-slim

FROM ${BUILD_BASE} AS build
# Extra CAs for the registry traffic of this stage (a TLS-inspecting proxy); unset by default.
ARG NODE_EXTRA_CA_CERTS
WORKDIR /src
ENV npm_config_fund=false npm_config_audit=false npm_config_update_notifier=false
COPY . .
RUN npm ci && npm run build --if-present
# Production dependencies of the SDK and the examples. The examples are TypeScript run through tsx:
# keep the tsx they pin even where no production dependency brings it.
RUN rm -rf node_modules \
 && npm ci --omit=dev --ignore-scripts \
 && if [ ! -d node_modules/tsx ]; then \
      npm install --no-save --ignore-scripts --omit=dev "tsx@$(node -p 'require("./examples/hello-world/package.json").devDependencies.tsx')"; \
    fi \
 && mkdir -p /out \
 && cp -a package.json node_modules /out/ \
 && for pkg in node sdk; do \
      mkdir -p "/out/$pkg" && cp -a "$pkg/package.json" "/out/$pkg/" \
      && if [ -d "$pkg/bin" ]; then cp -a "$pkg/bin" "/out/$pkg/"; fi \
      && if [ -d "$pkg/dist" ]; then cp -a "$pkg/dist" "/out/$pkg/"; else cp -a "$pkg/src" "/out/$pkg/"; fi; \
    done \
 && for ex in examples/*/; do mkdir -p "/out/$ex" && cp -a "$ex/package.json" "$ex/src" "/out/$ex"; done \
 && rm -rf /out/node_modules/@resonate-mesh/test

FROM ${RUNTIME_BASE}
LABEL org.opencontainers.image.title="resonate-mesh example workers"
ENV NODE_ENV=production RESONATE_URL=http://resonate:8001
WORKDIR /app
COPY --from=build /out /app
USER 10001:10001
# A worker serves no port: it is healthy while its process runs (the SDK reconnects on its own).
HEALTHCHECK NONE
ENTRYPOINT ["node", "--import", "tsx"]
CMD ["examples/hello-world/src/worker.ts"]
