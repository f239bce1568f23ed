// Lints in-memory snippets as if they lived at the given repository paths, with the project's own
// eslint.config.mjs. A child process of its own, since ESLint loads that ESM config with import(),
// which jest's module sandbox cannot run. Reads [{ file, code }] as JSON on stdin and prints
// [{ file, messages: [{ ruleId, line, message }] }] as JSON on stdout.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ESLint } from 'eslint';

const root = process.cwd();
const snippets = JSON.parse(readFileSync(0, 'utf8'));
const eslint = new ESLint({
  cwd: root,
  overrideConfig: {
    // Snippets exist only in memory, so the TypeScript project has no program for them: the rules
    // under test are syntactic, and the two that need types are switched off for these files only.
    languageOptions: { parserOptions: { projectService: false } },
    rules: { '@typescript-eslint/no-floating-promises': 'off', '@typescript-eslint/no-misused-promises': 'off' },
  },
});
const results = [];
for (const { file, code } of snippets) {
  const [result] = await eslint.lintText(code, { filePath: join(root, file) });
  results.push({ file, messages: result.messages.map(({ ruleId, line, message }) => ({ ruleId, line, message })) });
}
process.stdout.write(JSON.stringify(results));
