# One image, two entry points: `datasync` (the copier: plan, copy and commit workers, and the CLI)
# and `datasync-operator`.
#   podman build -t ghcr.io/datasync-dev/datasync:0.1.0 .
# NODE_IMAGE must be a Debian-based Node 24 image with npm (tests build from a local one, since
# nothing can be pulled on the test machines).
ARG NODE_IMAGE=node:24-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: the `node` devDependency only matters on hosts with an older system Node.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY api api
COPY copier copier
COPY operator operator
# Relative imports name .ts files; tsc rewrites them to .js (rewriteRelativeImportExtensions).
RUN npx tsc -p tsconfig.build.json

FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts && npm cache clean --force

FROM ${NODE_IMAGE}
WORKDIR /app
ENV NODE_ENV=production
COPY --from=prod-deps /app/node_modules node_modules
COPY --from=build /src/dist dist
COPY package.json ./
# The launchers import dist/... when it exists (no TypeScript at run time).
COPY bin bin
RUN ln -s /app/bin/datasync.js /usr/local/bin/datasync \
 && ln -s /app/bin/datasync-operator.js /usr/local/bin/datasync-operator
# The `node` user (UID 1000) of the base image; pods also set runAsNonRoot and a read-only root
# filesystem (only /tmp is written, an emptyDir in the pod specs).
USER 1000:1000
ENTRYPOINT ["datasync"]
CMD ["--help"]
