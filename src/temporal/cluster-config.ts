import { join } from 'node:path';
import { stringify } from 'yaml';
import { projectRoot } from '../project-root';

/** Chorus's dynamic config, shared by the production compose and the cluster: one file, one truth. */
export const DYNAMIC_CONFIG_FILE = join(projectRoot(), 'deploy', 'temporal', 'dynamicconfig.yaml');
/**
 * What versioned deploys need (Worker Deployment Versions and their workflow APIs): server 1.29.1's
 * defaults, set anyway so a server whose defaults differ cannot turn them off. The dynamic config
 * file carries them too; the dev server gets them as flags (devServerDynamicConfigArgs).
 */
export const VERSIONING_DYNAMIC_CONFIG = { 'system.enableDeploymentVersions': true, 'frontend.workerVersioningWorkflowAPIs': true } as const;
/**
 * Reads per second a history shard may make of its transfer queue, whose tasks hand every new
 * workflow task and activity task to matching. At the server's default, 20, each dispatch waited
 * for the shard's read limiter: 25–45 ms from scheduled to started on an idle dev server (one
 * shard), seven times in a 3-step pipeline (bench/NOTES.md, "Task dispatch"). Reads follow new
 * tasks, so the higher bound costs nothing at rest, and under load each read still takes every
 * task waiting (same CPU per pipeline measured at 50 and 200 runs at once).
 */
export const DISPATCH_DYNAMIC_CONFIG = { 'history.transferProcessorMaxPollRPS': 1000 } as const;
/** What every Temporal server Chorus starts gets: the dynamic config file carries it, the dev server gets it as flags. */
export const SHARED_DYNAMIC_CONFIG = { ...VERSIONING_DYNAMIC_CONFIG, ...DISPATCH_DYNAMIC_CONFIG } as const;

/** SHARED_DYNAMIC_CONFIG as `temporal server start-dev` flags. */
export function devServerDynamicConfigArgs(): string[] {
  return Object.entries(SHARED_DYNAMIC_CONFIG).flatMap(([key, value]) => ['--dynamic-config-value', `${key}=${JSON.stringify(value)}`]);
}
/** Fixed when a cluster's database is created; every node must agree. 4 shards spread over two history services. */
export const NUM_HISTORY_SHARDS = 4;
/** Every server node runs all four services, so killing one node leaves a whole cluster standing. */
export const CLUSTER_SERVICES = ['frontend', 'history', 'matching', 'worker'] as const;
export type ClusterService = (typeof CLUSTER_SERVICES)[number];

export interface ServicePorts {
  grpc: number;
  /** Ringpop gossip; nodes find each other through the cluster_membership table, so no seed list. */
  membership: number;
}

export interface ClusterNodePorts {
  services: Record<ClusterService, ServicePorts>;
  /** The frontend's HTTP API (Nexus callbacks use it). */
  frontendHttp: number;
}

export interface ClusterDatabase {
  port: number;
  user: string;
  password: string;
}

export const TEMPORAL_DATABASE = 'temporal';
export const VISIBILITY_DATABASE = 'temporal_visibility';

function sqlStore(database: ClusterDatabase, databaseName: string, maxConns: number) {
  return {
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `127.0.0.1:${database.port}`,
      connectProtocol: 'tcp',
      user: database.user,
      password: database.password,
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  };
}

/**
 * One node's server config (the shape of the module's config/development-postgres12.yaml): PostgreSQL
 * for persistence and SQL visibility, all services bound to 127.0.0.1 on this node's own ports.
 * `frontendAddress` is the address clients use (the cluster's balancer), recorded as the cluster's RPC address.
 */
export function clusterNodeConfig(ports: ClusterNodePorts, database: ClusterDatabase, frontendAddress: string, logLevel = 'warn'): string {
  const services = Object.fromEntries(
    CLUSTER_SERVICES.map((service) => [
      service,
      {
        rpc: {
          grpcPort: ports.services[service].grpc,
          membershipPort: ports.services[service].membership,
          bindOnIP: '127.0.0.1',
          ...(service === 'frontend' ? { httpPort: ports.frontendHttp } : {}),
        },
      },
    ]),
  );
  return stringify({
    log: { stdout: true, level: logLevel },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards: NUM_HISTORY_SHARDS,
      datastores: {
        // Four services per node, two nodes: 4 × 2 × (20 + 10) connections stay under max_connections=300.
        'postgres-default': sqlStore(database, TEMPORAL_DATABASE, 20),
        'postgres-visibility': sqlStore(database, VISIBILITY_DATABASE, 10),
      },
    },
    global: { membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' } },
    services,
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: { active: { enabled: true, initialFailoverVersion: 1, rpcName: 'frontend', rpcAddress: frontendAddress } },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: DYNAMIC_CONFIG_FILE, pollInterval: '10s' },
  });
}
