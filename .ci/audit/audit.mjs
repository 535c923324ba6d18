// Runs graphql-http's server audits (the GraphQL-over-HTTP spec's MUST,
// SHOULD and MAY checks) against a running trade-graph.
// Usage: node audit.mjs http://127.0.0.1:PORT/graphql
// Exits 1 when any MUST audit fails; prints every result.
import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs <graphql url>');
  process.exit(2);
}
const results = await auditServer({ url });
let mustFailures = 0;
const counts = { ok: 0, warn: 0, error: 0 };
for (const result of results) {
  counts[result.status] += 1;
  const mark = result.status === 'ok' ? 'ok  ' : result.status === 'warn' ? 'WARN' : 'FAIL';
  console.log(`${mark} ${result.name}`);
  if (result.status !== 'ok') {
    console.log(`       ${result.reason}`);
    if (result.name.startsWith('MUST')) mustFailures += 1;
  }
}
console.log(`graphql-http audit: ${counts.ok} ok, ${counts.warn} warnings, ${counts.error} errors; ${mustFailures} MUST failures`);
process.exit(mustFailures === 0 ? 0 : 1);
