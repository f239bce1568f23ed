/** `node dist/bench/render.js bench/results/NAME.json`: rewrites NAME.md and NAME.svg from a recorded run. */
import { readFileSync } from 'node:fs';
import { writeReports, type BenchReport } from './lib/report';

const path = process.argv[2];
if (!path) {
  console.error('usage: node dist/bench/render.js bench/results/NAME.json');
  process.exit(1);
}
const files = writeReports(JSON.parse(readFileSync(path, 'utf8')) as BenchReport);
console.log(`wrote ${files.join(', ')}`);
