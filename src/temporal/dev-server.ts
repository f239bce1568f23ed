import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { SearchAttributeType } from '@temporalio/common';
import type { DevServerSettings } from '../config/temporal';
import { CHORUS_SEARCH_ATTRIBUTES } from '../pipeline/search-attributes';
import { devServerDynamicConfigArgs } from './cluster-config';

const CLI_ATTRIBUTE_TYPES: Record<string, string> = {
  [SearchAttributeType.KEYWORD]: 'Keyword',
  [SearchAttributeType.TEXT]: 'Text',
  [SearchAttributeType.INT]: 'Int',
  [SearchAttributeType.DOUBLE]: 'Double',
  [SearchAttributeType.BOOL]: 'Bool',
  [SearchAttributeType.DATETIME]: 'Datetime',
  [SearchAttributeType.KEYWORD_LIST]: 'KeywordList',
};

/** `temporal server start-dev` arguments: persisted SQLite in WAL mode, the Web UI, Chorus's search attributes, versioned deploys. */
export function devServerArgs(settings: DevServerSettings): string[] {
  mkdirSync(dirname(settings.dbFilename), { recursive: true });
  return [
    'server',
    'start-dev',
    '--ip',
    settings.ip,
    '--port',
    String(settings.port),
    '--ui-port',
    String(settings.uiPort),
    '--db-filename',
    settings.dbFilename,
    '--sqlite-pragma',
    'journal_mode=wal',
    // Measured (bench/NOTES.md): ~40% less dev-server CPU per pipeline. With WAL, a crashed
    // process loses nothing; only an OS crash can lose the last commits.
    '--sqlite-pragma',
    'synchronous=NORMAL',
    '--log-level',
    'warn',
    ...CHORUS_SEARCH_ATTRIBUTES.flatMap((key) => ['--search-attribute', `${key.name}=${CLI_ATTRIBUTE_TYPES[key.type]}`]),
    ...devServerDynamicConfigArgs(),
  ];
}
