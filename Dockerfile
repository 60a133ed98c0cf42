# One image, two entry points: `datasync` (the copier: plan, copy and commit workers, and the CLI)
# and `datasync-operator`. Build: podman build -t ghcr.io/datasync-dev/datasync:0.1.0 .
FROM node:24-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: the `node` devDependency only matters on hosts with an older system Node.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY api api
COPY copier copier
COPY operator operator
RUN npx tsc -p tsconfig.build.json

FROM node:24-slim AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts

FROM node:24-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=prod-deps /app/node_modules node_modules
COPY --from=build /src/dist dist
COPY package.json ./
COPY bin bin
RUN ln -s /app/bin/datasync.js /usr/local/bin/datasync \
 && ln -s /app/bin/datasync-operator.js /usr/local/bin/datasync-operator
# The `node` user of the base image; pods also set runAsNonRoot and a read-only root filesystem.
USER 1000:1000
ENTRYPOINT ["datasync"]
CMD ["--help"]
