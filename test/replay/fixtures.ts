import { join } from 'node:path';

export const HISTORY_FIXTURES_DIR = join(__dirname, '..', 'fixtures', 'histories');
