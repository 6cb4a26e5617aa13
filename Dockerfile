# syntax=docker/dockerfile:1
#
# Ledgerline API image. Dependencies are installed by npm from the committed
# package-lock.json (`npm ci`: exact versions, fails if the lock and package.json
# disagree); the process runs on Bun. No runtime dependency has native code (PGlite and
# libpg-query are WASM), so node_modules moves from the Node stage to the Bun image as is.

FROM node:22-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM oven/bun:1.4-slim AS runtime
WORKDIR /app
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8000 \
    DATA_DIR=/app/data
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY drizzle ./drizzle
COPY projections ./projections
COPY src ./src
# `bun scripts/replay.ts` rebuilds the read models from inside the container.
COPY scripts ./scripts
# The image's unprivileged `bun` user (uid 1000); DATA_DIR is only written in embedded mode.
RUN mkdir -p /app/data && chown bun:bun /app/data
USER bun
EXPOSE 8000
# Bun itself does the probe: the slim image has no curl.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["bun", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8000) + '/api/v1/health').then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["bun", "src/main.ts"]
