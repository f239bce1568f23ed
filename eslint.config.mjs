// Lint keeps the architecture, not a style: the layer boundaries, the workflow sandbox, promises
// that are awaited, public SDK entry points and config as the only reader of process.env.
// Formatting is Prettier's job (`npm run format`); no rule here overlaps with it.
import { builtinModules } from 'node:module';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

/**
 * What each product folder may import besides itself and packages, as the README's Architecture
 * table says; every other top-level folder is off limits. `workflows` is an allowlist of its own,
 * below; `api` takes from `workflows/` only definitions.ts and types (a pattern of its own, below).
 */
const MAY_IMPORT = {
  src: [],
  activities: ['src'],
  api: ['src', 'workflows'],
  worker: ['src', 'workflows', 'activities'],
  simulator: ['src'],
  launcher: ['src'],
  cli: ['src', 'clients'],
  tools: ['src', 'worker', 'api'],
  cluster: ['src'],
  clients: [],
};
const TOP_LEVEL = [...Object.keys(MAY_IMPORT), 'workflows', 'test', 'bench'];
const WHY = {
  src: 'src/ is the shared base: it imports no other folder',
  activities: 'activities/ do the I/O of a run: they import only src/',
  api: 'api/ starts and reads runs through Temporal: it imports src/ and workflows/definitions.ts',
  worker: 'the worker registers workflows/ and activities/: it imports no other process',
  simulator: 'the simulator is a process of its own: it imports only src/',
  launcher: 'the launcher starts the processes as children: it imports only src/',
  cli: 'the CLI is a client of the REST API: it imports src/ and the generated client in clients/',
  tools: 'tools import src/, worker/ (replay) and api/ (the OpenAPI export): no other process or layer',
  cluster: 'the cluster starts Temporal and PostgreSQL as children: it imports only src/',
  clients: 'clients/ are packages of their own, published apart from Chorus: they import nothing of the repository',
};
const forbiddenFor = (folder) => TOP_LEVEL.filter((name) => name !== folder && !MAY_IMPORT[folder].includes(name));

/** src/pipeline modules that do I/O: not pure, so the workflow bundle must not import them. */
const PIPELINE_IO_MODULES = ['registry'];
/** Deepest folder nesting under a top-level folder that the generated boundary blocks cover. */
const MAX_DEPTH = 6;

const escape = (text) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** `../` repeated so that an import from a file `depth` folders below the root lands at the root. */
const toRoot = (depth) => `^(\\.\\./){${depth}}`;
const anyOf = (names) => `(${names.map(escape).join('|')})`;

const NODE_BUILTINS = `^(node:|${anyOf(builtinModules.filter((name) => !name.startsWith('_')))}(/|$))`;
const SDK_INTERNALS = {
  regex: '^@temporalio/[^/]+/lib(/|$)',
  caseSensitive: true,
  message: 'Import the public entry point of the Temporal SDK: @temporalio/*/lib/* is internal and changes without notice.',
};
const SANDBOX_BUILTINS = {
  regex: NODE_BUILTINS,
  caseSensitive: true,
  message: "Workflow code runs in Temporal's deterministic sandbox: no Node built-ins (do the I/O in an activity).",
};

/** The import patterns a product file at `depth` folders below the root inside `folder` must not use. */
function layerPatterns(folder, depth) {
  if (folder === 'workflows') {
    return [
      SANDBOX_BUILTINS,
      {
        // Any package other than the two the sandbox is built for (Node built-ins have their own message).
        regex: `^(?!\\.|@temporalio/(workflow|common)(/|$)|${NODE_BUILTINS.slice(1)})`,
        caseSensitive: true,
        message: 'workflows/ import only @temporalio/workflow and @temporalio/common: everything else ends up in the workflow bundle.',
      },
      {
        regex: `${toRoot(depth)}(?!workflows/|activities(/|$)|src/pipeline(/|$))`,
        caseSensitive: true,
        message: 'workflows/ import only their own files, pure src/pipeline modules and `import type` from activities/.',
      },
      {
        regex: `${toRoot(depth)}src/pipeline/${anyOf(PIPELINE_IO_MODULES)}$`,
        caseSensitive: true,
        message: 'This src/pipeline module does I/O: it must not reach the workflow bundle.',
      },
      {
        regex: `${toRoot(depth)}activities(/|$)`,
        caseSensitive: true,
        allowTypeImports: true,
        message: 'workflows/ call activities through proxyActivities: use `import type` from activities/.',
      },
    ];
  }
  const patterns = [
    {
      regex: `${toRoot(depth)}${anyOf(forbiddenFor(folder))}(/|$)`,
      caseSensitive: true,
      message: `${WHY[folder]} (see the README's Architecture section).`,
    },
  ];
  if (folder === 'api') {
    patterns.push({
      regex: `${toRoot(depth)}workflows(/(?!definitions$).*)?$`,
      caseSensitive: true,
      allowTypeImports: true,
      message: 'api/ takes queries, signals and updates from workflows/definitions.ts, and only types from the rest of workflows/.',
    });
  }
  return patterns;
}

const restrictImports = (patterns) => ({ '@typescript-eslint/no-restricted-imports': ['error', { patterns: [SDK_INTERNALS, ...patterns] }] });

/** One block per product folder and nesting depth: a relative import's depth says which folder it reaches. */
function boundaryBlocks() {
  const blocks = [];
  for (const folder of Object.keys(MAY_IMPORT).concat('workflows')) {
    for (let depth = 1; depth <= MAX_DEPTH; depth += 1) {
      blocks.push({ files: [`${folder}/${'*/'.repeat(depth - 1)}*.ts`], rules: restrictImports(layerPatterns(folder, depth)) });
    }
  }
  // Workflows import src/pipeline, so its pure modules keep the sandbox's rules too.
  for (let depth = 2; depth <= MAX_DEPTH; depth += 1) {
    blocks.push({
      files: [`src/pipeline/${'*/'.repeat(depth - 2)}*.ts`],
      ignores: PIPELINE_IO_MODULES.map((name) => `src/pipeline/${name}.ts`),
      rules: restrictImports([...layerPatterns('src', depth), SANDBOX_BUILTINS]),
    });
  }
  return blocks;
}

const PROCESS_ENV = {
  object: 'process',
  property: 'env',
  message: 'src/config/ is the only reader of process.env: add the key to a settings loader there.',
};
const SANDBOX_PROPERTIES = [
  PROCESS_ENV,
  {
    object: 'Date',
    property: 'now',
    message: 'Workflows decide on history, not the clock: wait with sleep()/condition() from @temporalio/workflow.',
  },
  {
    object: 'Math',
    property: 'random',
    message: 'Workflow code must replay identically: use uuid4() from @temporalio/workflow or pass the value in.',
  },
];
const SANDBOX_GLOBALS = ['setTimeout', 'setInterval', 'setImmediate'].map((name) => ({
  name,
  message: "Use sleep() from @temporalio/workflow: the sandbox's timers ignore cancellation scopes.",
}));

export default defineConfig(
  { ignores: ['dist/', 'coverage/', '.cache/', '.data/', 'test-artifacts/', 'deploy/', 'bench/results/'] },
  {
    files: ['**/*.ts'],
    languageOptions: {
      parser: tseslint.parser,
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      ...restrictImports([]),
      'no-restricted-properties': ['error', PROCESS_ENV],
    },
  },
  ...boundaryBlocks(),
  {
    files: ['workflows/**/*.ts', 'src/pipeline/**/*.ts'],
    ignores: PIPELINE_IO_MODULES.map((name) => `src/pipeline/${name}.ts`),
    rules: {
      'no-restricted-properties': ['error', ...SANDBOX_PROPERTIES],
      'no-restricted-globals': ['error', ...SANDBOX_GLOBALS],
    },
  },
  {
    // Test and benchmark harnesses start processes with an environment of their own making.
    files: ['src/config/**/*.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
);
