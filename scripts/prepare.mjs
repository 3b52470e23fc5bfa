// What `npm start` and `npm test` need before they build anything, installed when missing: the
// system packages (scripts/setup-system.sh; with `e2e`, also the end-to-end test's WebKitWebDriver
// and Xvfb), a Rust toolchain check, and the npm dependencies. Each README command works alone on
// a fresh machine because each calls this first.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

export const root = path.resolve(new URL('..', import.meta.url).pathname);

/** Runs a command in the project root; exits with its status when it fails. */
export const run = (cmd, args, opts = {}) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', ...opts });
  if (r.error) throw r.error;
  if (r.status !== 0) process.exit(r.status ?? 1);
};

const has = (cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;

export function prepare({ e2e = false, who = 'npm' } = {}) {
  if (process.platform === 'linux') run('bash', ['scripts/setup-system.sh', ...(e2e ? ['--e2e'] : [])]);
  if (!has('cargo')) {
    console.error(`${who}: Rust is not installed. Install it from https://rustup.rs (rustup), then run it again.`);
    process.exit(1);
  }
  if (!existsSync(path.join(root, 'node_modules', '@tauri-apps', 'cli'))) run('npm', ['ci', '--no-audit', '--no-fund']);
}
