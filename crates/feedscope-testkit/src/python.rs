//! The real servers from PyPI the interop tests run (tests/interop/*.py: sse-starlette,
//! aiohttp-sse, the MCP SDK, websockets), started on 127.0.0.1 from the venv that
//! scripts/setup-python.sh makes (scripts/test-rust.sh runs it first).

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

/// The repository's root.
pub fn repo_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize().unwrap_or(root)
}

/// The venv's interpreter; fails the test, naming the script that makes it, when it is missing.
pub fn venv_python() -> PathBuf {
    let venv = repo_root().join(".venv-interop");
    let python = venv.join("bin/python");
    assert!(
        python.exists() && venv.join(".feedscope-stamp").exists(),
        "the interop tests need the Python venv {} with the servers of tests/interop/requirements.txt; \
         it is missing or incomplete: run `bash scripts/setup-python.sh` (scripts/test-rust.sh runs it)",
        venv.display()
    );
    python
}

/// A Python server of tests/interop, killed when dropped. It also exits by itself when its
/// standard input (held here) closes, so a test process that dies leaves nothing behind. The
/// script takes `--port 0` and prints `LISTENING URL` once it listens.
pub struct PyServer {
    child: Child,
    url: String,
    stderr: Arc<Mutex<String>>,
}

impl PyServer {
    /// Runs `tests/interop/SCRIPT --port 0 EXTRA…` and waits for its URL.
    pub fn start(script: &str, extra: &[&str]) -> PyServer {
        let python = venv_python();
        let dir = repo_root().join("tests/interop");
        let mut child = Command::new(&python)
            .arg(dir.join(script))
            .args(["--port", "0"])
            .args(extra)
            .current_dir(&dir)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {} {script}: {e}", python.display()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err_pipe = child.stderr.take().expect("piped stderr");
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err_pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().expect("stderr lock").push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
        let url = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(url) = line.strip_prefix("LISTENING ") {
                        break url.trim().to_owned();
                    }
                }
                _ => {
                    let status = child.wait().ok();
                    std::thread::sleep(std::time::Duration::from_millis(200)); // let stderr drain
                    panic!(
                        "{script} exited ({status:?}) before printing its URL; stderr:\n{}",
                        stderr.lock().expect("stderr lock")
                    );
                }
            }
        };
        std::thread::spawn(move || lines.for_each(drop));
        PyServer { child, url, stderr }
    }

    /// The URL the server announced, with `path` appended.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }

    /// What the server wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().expect("stderr lock").clone()
    }

    /// Checks that the server is still up and logged no traceback.
    pub fn assert_healthy(&mut self) {
        let exited = self.child.try_wait().expect("try_wait");
        let err = self.stderr();
        assert!(exited.is_none(), "the server exited ({exited:?}); stderr:\n{err}");
        assert!(!err.contains("Traceback"), "the server logged an error:\n{err}");
    }
}

impl Drop for PyServer {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}
