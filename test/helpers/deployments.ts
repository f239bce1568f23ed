import type { Connection } from '@temporalio/client';
import type { WorkerDeploymentVersion } from '../../src/config/worker';
import { waitFor } from './wait';

const versionName = ({ deploymentName, buildId }: WorkerDeploymentVersion) => `${deploymentName}.${buildId}`;

/**
 * What an operator does once a build's workers run (`temporal worker deployment set-current-version`):
 * waits until Temporal has seen `version` poll every one of `taskQueues` (it refuses a version that
 * misses a queue the current one serves), makes it current, and waits until the deployment says so.
 */
export async function makeCurrentVersion(connection: Connection, namespace: string, version: WorkerDeploymentVersion, taskQueues: readonly string[]) {
  await waitFor(
    `${versionName(version)} to poll ${taskQueues.length} task queues`,
    async () => {
      const { workerDeploymentVersionInfo } = await connection.workflowService.describeWorkerDeploymentVersion({ namespace, deploymentVersion: version });
      const polled = new Set(workerDeploymentVersionInfo?.taskQueueInfos?.map((queue) => queue.name));
      return taskQueues.filter((queue) => !polled.has(queue));
    },
    { timeoutMs: 60_000, intervalMs: 250, until: (missing) => missing.length === 0 },
  );
  await connection.workflowService.setWorkerDeploymentCurrentVersion({
    namespace,
    deploymentName: version.deploymentName,
    buildId: version.buildId,
    identity: 'chorus-test',
  });
  await waitFor(
    `${versionName(version)} to be current`,
    async () => {
      const { workerDeploymentInfo } = await connection.workflowService.describeWorkerDeployment({ namespace, deploymentName: version.deploymentName });
      return workerDeploymentInfo?.routingConfig?.currentDeploymentVersion?.buildId;
    },
    { timeoutMs: 30_000, intervalMs: 250, until: (buildId) => buildId === version.buildId },
  );
}
