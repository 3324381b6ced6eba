// Dispatches `npm run bench -- <name>` to bench/<name>.ts (one line per bench).
const benches: Record<string, () => Promise<unknown>> = {
  sync: () => import('./sync.js'),
  translate: () => import('./translate.js'),
  backfill: () => import('./backfill.js'),
  shadow: () => import('./shadow.js'),
  verify: () => import('./verify.js'),
  write: () => import('./write.js'),
};

const name = process.argv[2];
const load = name ? benches[name] : undefined;
if (!load) {
  console.error(`usage: npm run bench -- <${Object.keys(benches).join('|')}>`);
  process.exit(2);
}
await load();
