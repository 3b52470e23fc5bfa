// `npm start`: installs what is missing (system packages, npm and cargo dependencies), builds the
// UI and the app, and opens the window. Arguments after `--` go to the app (`npm start -- URL`).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { prepare, root, run } from './prepare.mjs';

prepare({ who: 'npm start' });
run('npm', ['run', '--silent', 'build:ui']);
// No devUrl: a plain cargo build embeds ui/dist, and shares the build with the tests.
run('cargo', ['build', '-p', 'feedscope-app', '--locked']);
const target = process.env.CARGO_TARGET_DIR ? path.resolve(root, process.env.CARGO_TARGET_DIR) : path.join(root, 'target');
const bin = path.join(target, 'debug', 'feedscope-app');
const r = spawnSync(bin, process.argv.slice(2), { stdio: 'inherit' });
process.exit(r.status ?? 0);
