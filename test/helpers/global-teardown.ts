import { rmSync } from 'node:fs';
import type { TestTemporal } from './global-setup';

export default async function globalTeardown(): Promise<void> {
  const temporal = (globalThis as { __chorusTemporal?: TestTemporal }).__chorusTemporal;
  temporal?.control?.close();
  await temporal?.devServer?.teardown();
  await temporal?.cluster?.stop(true);
  if (temporal?.runDir) rmSync(temporal.runDir, { recursive: true, force: true });
}
