// `npm start`: installs what is missing (system packages, npm and cargo dependencies), builds the
// UI and the app, and opens the window. Arguments after `--` go to the app (`npm start -- URL`).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(new URL('..', import.meta.url).pathname);
const run = (cmd, args, opts = {}) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  if (r.error) throw r.error;
  if (r.status !== 0) process.exit(r.status ?? 1);
};
const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

if (process.platform === 'linux') run('bash', ['scripts/setup-system.sh']);
if (!has('cargo')) {
  console.error('npm start: Rust is not installed. Install it from https://rustup.rs (rustup), then run npm start again.');
  process.exit(1);
}
if (!existsSync(path.join(root, 'node_modules', '@tauri-apps', 'cli'))) run('npm', ['ci']);
run('npm', ['run', '--silent', 'build:ui']);
// No devUrl: a plain cargo build embeds ui/dist, and shares the build with the tests.
run('cargo', ['build', '-p', 'feedscope-app', '--locked']);
const target = process.env.CARGO_TARGET_DIR ? path.resolve(root, process.env.CARGO_TARGET_DIR) : path.join(root, 'target');
const bin = path.join(target, 'debug', 'feedscope-app');
const r = spawnSync(bin, process.argv.slice(2), { stdio: 'inherit' });
process.exit(r.status ?? 0);
