# syntax=docker/dockerfile:1
# capline's processes (setup, ingester, dispatcher, worker, monitor, kibana-setup) for Docker Compose,
# on the Node 24 LTS. Two stages: the TypeScript is compiled with the dev dependencies, and the
# runtime image holds only the production dependencies and the compiled JavaScript (dist/).
ARG NODE_MAJOR=24

FROM node:${NODE_MAJOR}-bookworm-slim AS build
ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false
WORKDIR /app
COPY package.json package-lock.json ./
# No lifecycle scripts yet: `prepare` builds, and the sources are not copied in this layer.
RUN npm ci --no-audit --ignore-scripts
COPY . .
RUN npm run build

FROM node:${NODE_MAJOR}-bookworm-slim
ENV NODE_ENV=production \
    # No update check or funding banners in container logs.
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false
WORKDIR /app

# Dependencies first, in their own layer, so a source change does not reinstall them.
# --ignore-scripts: `prepare` (the build) already ran in the build stage.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --ignore-scripts && npm cache clean --force

# Sources stay owned by root and read-only for the process; .dockerignore keeps out node_modules,
# .env.local (may hold secrets), tests and local data. dist/ is the compiled CLI.
COPY . .
COPY --from=build /app/dist ./dist

# The image's unprivileged `node` user (uid 1000, usually the owner of ./data on the host).
USER node
ENTRYPOINT ["node", "bin/capline.mjs"]
CMD ["--help"]
