import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { projectRoot } from '../../src/project-root';

interface Snippet {
  file: string;
  code: string;
  /** `ruleId:line` of every problem ESLint must report, in order. */
  expected: string[];
  /** A phrase the first problem's message must contain. */
  says?: string;
}
interface Linted {
  file: string;
  messages: { ruleId: string | null; line: number; message: string }[];
}

const IMPORTS = '@typescript-eslint/no-restricted-imports';
const PROPERTIES = 'no-restricted-properties';

/** Each layer rule both bites where it should and stays quiet where the import is allowed. */
const SNIPPETS: Snippet[] = [
  {
    file: 'src/base-imports-api.ts',
    code: "import { createChorusApp } from '../api/app';\nimport { loadApiSettings } from './config/api';\nexport { createChorusApp, loadApiSettings };\n",
    expected: [`${IMPORTS}:1`],
    says: 'src/ is the shared base',
  },
  {
    file: 'src/pipeline/nested/base-imports-activities.ts',
    code: "import { createActivities } from '../../../activities';\nimport { FailureType } from '../../failures';\nexport { createActivities, FailureType };\n",
    expected: [`${IMPORTS}:1`],
    says: 'src/ is the shared base',
  },
  {
    file: 'workflows/clock.ts',
    code: 'export const startedAt = Date.now();\nexport const shownAt = new Date().toISOString();\nexport const coin = Math.random();\n',
    expected: [`${PROPERTIES}:1`, `${PROPERTIES}:3`],
    says: 'Workflows decide on history',
  },
  {
    file: 'workflows/steps/imports.ts',
    code: [
      "import type { ChorusActivities } from '../../activities';",
      "import { createActivities } from '../../activities';",
      "import { readFileSync } from 'node:fs';",
      "import { evaluateCondition } from '../../src/pipeline/condition';",
      "import { loadPipelineRegistry } from '../../src/pipeline/registry';",
      "import { loadApiSettings } from '../../src/config/api';",
      "import { proxyActivities } from '@temporalio/workflow';",
      "import { Connection } from '@temporalio/client';",
      'export type Activities = ChorusActivities;',
      'export { createActivities, readFileSync, evaluateCondition, loadPipelineRegistry, loadApiSettings, proxyActivities, Connection };',
      '',
    ].join('\n'),
    expected: [`${IMPORTS}:2`, `${IMPORTS}:3`, `${IMPORTS}:5`, `${IMPORTS}:6`, `${IMPORTS}:8`],
    says: '`import type` from activities/',
  },
  {
    file: 'api/imports-worker.ts',
    code: "import { WORKFLOWS_PATH } from '../worker/worker';\nimport { progressQuery } from '../workflows/definitions';\nexport { WORKFLOWS_PATH, progressQuery };\n",
    expected: [`${IMPORTS}:1`],
    says: 'api/ starts and reads runs through Temporal',
  },
  {
    file: 'api/runs/imports-workflow-code.ts',
    code: [
      "import type { pipelineWorkflow } from '../../workflows';",
      "import { pipelineWorkflow as run } from '../../workflows/pipeline.workflow';",
      "import { createActivities } from '../../activities';",
      'export type Run = typeof pipelineWorkflow;',
      'export { run, createActivities };',
      '',
    ].join('\n'),
    expected: [`${IMPORTS}:2`, `${IMPORTS}:3`],
    says: 'only types from the rest of workflows/',
  },
  {
    file: 'cli/imports-api.ts',
    code: "import { createChorusApp } from '../api/app';\nimport { progressQuery } from '../workflows/definitions';\nexport { createChorusApp, progressQuery };\n",
    expected: [`${IMPORTS}:1`, `${IMPORTS}:2`],
    says: 'the CLI is a client of the REST API',
  },
  {
    file: 'activities/imports-workflows.ts',
    code: "import { progressQuery } from '../workflows/definitions';\nimport { FailureType } from '../src/pipeline/failures';\nexport { progressQuery, FailureType };\n",
    expected: [`${IMPORTS}:1`],
    says: 'activities/ do the I/O of a run',
  },
  { file: 'tools/imports-worker.ts', code: "import { WORKFLOWS_PATH } from '../worker/worker';\nexport { WORKFLOWS_PATH };\n", expected: [] },
  {
    file: 'tools/imports-sdk-internals.ts',
    code: "import { msToNumber } from '@temporalio/common/lib/time';\nexport { msToNumber };\n",
    expected: [`${IMPORTS}:1`],
    says: 'public entry point',
  },
  {
    file: 'activities/reads-env.ts',
    code: 'export const key = process.env.OPENAI_API_KEY;\n',
    expected: [`${PROPERTIES}:1`],
    says: 'src/config/ is the only reader of process.env',
  },
  { file: 'src/config/reads-env.ts', code: 'export const key = process.env.OPENAI_API_KEY;\n', expected: [] },
  { file: 'test/imports-anything.ts', code: "import { createChorusApp } from '../api/app';\nexport { createChorusApp };\n", expected: [] },
];

function lint(snippets: Snippet[]): Linted[] {
  const input = JSON.stringify(snippets.map(({ file, code }) => ({ file, code })));
  const root = projectRoot();
  return JSON.parse(execFileSync(process.execPath, [join(root, 'test', 'helpers', 'lint-snippets.mjs')], { cwd: root, input, encoding: 'utf8' })) as Linted[];
}

describe('eslint.config.mjs', () => {
  let linted: Linted[];
  beforeAll(() => {
    linted = lint(SNIPPETS);
  });

  it('lints every snippet', () => {
    expect(linted.map(({ file }) => file)).toEqual(SNIPPETS.map(({ file }) => file));
  });

  it.each(SNIPPETS)('$file: reports $expected', ({ file, expected, says }) => {
    const { messages } = linted.find((result) => result.file === file)!;
    expect(messages.map(({ ruleId, line }) => `${ruleId}:${line}`)).toEqual(expected);
    if (says !== undefined) expect(messages[0].message).toContain(says);
  });
});
