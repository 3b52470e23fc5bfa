// kill -9 of the real app in the middle of saving its settings, repeated: every feed saved before
// a round began is there on the next start, and nothing needed repairing.
//
// Each round starts the real binary (its own throw-away data dir, under this Xvfb) with one new
// feed URL on the command line and FEEDSCOPE_TEST_SAVE_LOOP=1: after setup the app prints what
// this start loaded (`feedscope-test-start {...}`) and then saves its settings in a loop. The round
// SIGKILLs the app at a random moment: either while it saves in that loop, or at a random point of
// its startup (guard, load, the saves of setup). Then, before the next start:
//   - the real store file (feedscope.json) parses and holds every feed saved so far;
// and the next start's report must list every such feed with no notice (no "damaged"/"restored").
// A feed counts as saved once a start reported it (the report comes after setup's saves).
// At the end the window itself is opened through WebDriver: all feeds listed, no notice shown.
// CRASH_ROUNDS (default 40) and CRASH_SEED (random by default, printed) reproduce a run.
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { APP, Session, assert, sleep, startDriver, waitFor } from './wd.mjs';

const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 40);
const SEED = Number(process.env.CRASH_SEED ?? Math.floor(Math.random() * 2 ** 31));

/** mulberry32: a small seeded PRNG, so a failing run can be replayed with CRASH_SEED. */
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Starts the app in its own process group; `report` resolves with its start line (or null if it died first). */
function startApp(env, args) {
  const proc = spawn(APP, ['--no-demo', ...args], {
    env: { ...process.env, ...env, FEEDSCOPE_TEST_SAVE_LOOP: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let log = '';
  let buf = '';
  let onReport;
  const report = new Promise((r) => (onReport = r));
  proc.stdout.on('data', (d) => {
    log += d;
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.startsWith('feedscope-test-start ')) onReport(JSON.parse(line.slice('feedscope-test-start '.length)));
    }
  });
  proc.stderr.on('data', (d) => (log += d));
  const exited = new Promise((r) => proc.on('exit', (code, signal) => r({ code, signal })));
  // 'close' comes once its output is read to the end: a report printed before the kill is seen.
  proc.on('close', () => onReport(null));
  return { proc, report, exited, log: () => log };
}

async function killHard(app) {
  try {
    process.kill(app.proc.pid, 'SIGKILL');
  } catch {
    // already gone
  }
  const how = await app.exited;
  // WebKit's helper processes go with their parent's socket; make sure of it (same group).
  try {
    process.kill(-app.proc.pid, 'SIGKILL');
  } catch {
    // none left
  }
  return how;
}

export default async function run({ out }) {
  const rand = prng(SEED);
  console.log(`crash: ${ROUNDS} rounds, CRASH_SEED=${SEED}`);
  const home = await mkdtemp(path.join(os.tmpdir(), 'feedscope-crash-'));
  const env = {
    HOME: home,
    XDG_DATA_HOME: `${home}/data`,
    XDG_CONFIG_HOME: `${home}/config`,
    XDG_CACHE_HOME: `${home}/cache`,
  };
  const dir = `${env.XDG_DATA_HOME}/dev.feedscope.app`;
  const file = `${dir}/feedscope.json`;
  const saved = new Set(); // feed URLs some start reported: none of them may go missing
  const idOf = new Map(); // and their ids, for the window
  const reportsChecked = { n: 0 };
  const startupTimes = [];
  const modes = { saving: 0, startup: 0 };

  const checkReport = (rep, round, app) => {
    const urls = rep.feeds.map((f) => f.url);
    const missing = [...saved].filter((u) => !urls.includes(u));
    const ctx = `round ${round} (CRASH_SEED=${SEED})\n--- app output ---\n${app.log().slice(-3000)}`;
    assert.deepEqual(missing, [], `the start lost feeds: ${ctx}`);
    assert.deepEqual(rep.notices, [], `the start had to repair something: ${ctx}`);
    assert.equal(new Set(rep.feeds.map((f) => f.id)).size, rep.feeds.length, `duplicate feed ids: ${ctx}`);
    reportsChecked.n++;
    for (const f of rep.feeds) {
      saved.add(f.url);
      idOf.set(f.url, f.id);
    }
  };

  // The store file as a crash left it: it must parse and hold every saved feed (no repair needed).
  const checkFile = async (round) => {
    let text;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      assert.equal(saved.size, 0, `round ${round}: no store file but feeds were saved (${e.message}); CRASH_SEED=${SEED}`);
      return;
    }
    let doc;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      assert.fail(`round ${round}: the store file is damaged after kill -9 (${e.message}, ${text.length} bytes); CRASH_SEED=${SEED}`);
    }
    const urls = (doc.feeds ?? []).map((f) => f.config.url);
    assert.deepEqual([...saved].filter((u) => !urls.includes(u)), [], `round ${round}: feeds missing from the store file; CRASH_SEED=${SEED}`);
  };

  try {
    for (let round = 1; round <= ROUNDS; round++) {
      const url = `http://127.0.0.1:9/crash-${round}`;
      const t0 = Date.now();
      const app = startApp(env, [url]);
      // One round in three kills somewhere in the startup, the others while it saves in a loop.
      const estimate = startupTimes.length ? startupTimes.sort((a, b) => a - b)[startupTimes.length >> 1] : 1500;
      if (rand() < 1 / 3) {
        modes.startup++;
        await Promise.race([sleep(rand() * estimate * 1.2), app.exited]);
      } else {
        modes.saving++;
        await waitFor('the app to start', () => Promise.race([app.report.then((r) => r ?? 'died'), sleep(200).then(() => null)]), 30000);
        await sleep(rand() * 300);
      }
      const how = await killHard(app);
      // Whatever this start reported (it may have been killed before), it is checked now.
      const rep = await Promise.race([app.report, sleep(10000).then(() => null)]);
      if (rep === null && how.signal !== 'SIGKILL') {
        assert.fail(`round ${round}: the app exited by itself (${JSON.stringify(how)})\n${app.log().slice(-3000)}`);
      }
      if (rep) {
        startupTimes.push(Date.now() - t0); // an upper bound, only to aim the startup kills
        checkReport(rep, round, app);
        assert.ok(saved.has(url), `round ${round}: the feed from the command line is not listed`);
      }
      await checkFile(round);
    }

    // The next start, in the real window: every feed listed, no notice.
    const driver = await startDriver(env);
    try {
      const s = await Session.start(driver, ['--no-demo']);
      try {
        const ids = await waitFor('feeds listed', async () => {
          const ids = await s.exec(() => [...document.querySelectorAll('[data-feed]')].map((li) => li.dataset.feed));
          return ids.length >= saved.size ? ids : null;
        });
        assert.deepEqual([...saved].map((u) => idOf.get(u)).filter((id) => !ids.includes(id)), [], 'feeds missing in the window');
        assert.equal(ids.length, saved.size);
        assert.equal(await s.text('[data-testid=notice]'), null, 'the window shows a notice');
        await s.screenshot(`${out}/06-after-crashes.png`);
      } finally {
        await s.end();
      }
    } finally {
      driver.stop();
    }
    const damaged = (await readdir(dir)).filter((n) => n.includes('.damaged-'));
    assert.deepEqual(damaged, [], 'no settings file was ever set aside as damaged');
    console.log(
      `crash: ${ROUNDS} kill -9 rounds (${modes.saving} while saving, ${modes.startup} during startup), ` +
        `${reportsChecked.n} starts checked, ${saved.size} feeds kept`,
    );
  } finally {
    if (!process.env.KEEP_E2E_HOME) await rm(home, { recursive: true, force: true });
  }
}
