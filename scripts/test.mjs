// `npm test`: every test, on a fresh machine too. Installs what is missing first (system packages
// for the build and the end-to-end test, npm dependencies), then runs, in order: the engine,
// server and CLI tests; the app's Rust tests; the UI's type check and unit tests; the end-to-end
// test of the real window. Stops at the first failure.
import { prepare, run } from './prepare.mjs';

prepare({ e2e: true, who: 'npm test' });
run('bash', ['scripts/test-rust.sh']);
run('npm', ['run', '--silent', 'build:ui']);
run('npm', ['run', 'test:app-rust']);
run('npm', ['run', 'check']);
run('npm', ['run', 'test:ui']);
run('bash', ['scripts/test-app.sh']);
