import { DefaultLogger, Runtime } from '@temporalio/worker';

// Workers in tests log only errors: expected activity and workflow failures would otherwise bury the results.
Runtime.install({ logger: new DefaultLogger('ERROR') });
