# syntax=docker/dockerfile:1
# capline's processes (setup, ingester, dispatcher, worker, monitor, kibana-setup) for Docker Compose.
# The machines that develop capline run Node 20; users' images run the Node 22 LTS.
ARG NODE_MAJOR=22
FROM node:${NODE_MAJOR}-bookworm-slim

ENV NODE_ENV=production \
    # No update check or funding banners in container logs.
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false
WORKDIR /app

# Dependencies first, in their own layer, so a source change does not reinstall them.
# --omit=dev keeps tsx: bin/capline.mjs runs the TypeScript sources through it at run time.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit && npm cache clean --force

# Sources stay owned by root and read-only for the process; .dockerignore keeps out node_modules,
# .env.local (may hold secrets), tests and local data.
COPY . .

# The image's unprivileged `node` user (uid 1000, usually the owner of ./data on the host).
USER node
ENTRYPOINT ["node", "bin/capline.mjs"]
CMD ["--help"]
