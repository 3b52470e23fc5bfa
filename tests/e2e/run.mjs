// Runs the end-to-end specs one after another (one automation context per process), each with
// its own tauri-driver, all sharing one throw-away data directory so a later spec sees what an
// earlier one saved.
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startDriver } from './wd.mjs';

const specs = process.argv.slice(2).length ? process.argv.slice(2) : ['app', 'actions', 'restart', 'crash', 'burst'];
const home = await mkdtemp(path.join(os.tmpdir(), 'feedscope-e2e-'));
const out = path.resolve(new URL('.', import.meta.url).pathname, '.out');
await rm(out, { recursive: true, force: true });
await mkdir(out, { recursive: true });
const dataDir = `${home}/data`;
const env = {
  HOME: home,
  XDG_DATA_HOME: dataDir,
  XDG_CONFIG_HOME: `${home}/config`,
  XDG_CACHE_HOME: `${home}/cache`,
  FEEDSCOPE_TEST_SAVE_PATH: `${out}/export.ndjson`,
};

let failed = 0;
let passed = 0;
for (const name of specs) {
  const spec = (await import(`./${name}.spec.mjs`)).default;
  const driver = await startDriver(env);
  const t0 = Date.now();
  try {
    await spec({ driver, out, dataDir });
    passed++;
    console.log(`ok   ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e.stack ?? e}`);
    console.log(`--- tauri-driver / app output ---\n${driver.log().slice(-4000)}`);
  } finally {
    driver.stop();
    await new Promise((r) => setTimeout(r, 500));
  }
  if (failed) break;
}
if (!process.env.KEEP_E2E_HOME) await rm(home, { recursive: true, force: true });
console.log(`screenshots in ${out}`);
// The plain closing line CI reads.
console.log(`e2e: ${passed} passed, ${failed} failed, ${specs.length - passed - failed} skipped`);
process.exit(failed ? 1 : 0);
