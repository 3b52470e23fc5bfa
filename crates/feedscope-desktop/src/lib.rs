//! The Feedscope desktop app without Tauri: everything the window's commands do, testable without
//! a window. `src-tauri` adapts it (commands, the Channel, the store file's path, the dialog).
//!
//! - [`state`]: the user's feeds (on the engine's hub) and settings, and saving them;
//! - [`saved`] / [`persist`]: the settings file's content, and writing and guarding it;
//! - [`bridge`]: the one live update stream to the window; [`rows`]: what a row and a detail show;
//! - [`raw`]: what the raw view shows (a feed's bytes, line by line, made safe to show);
//! - [`api`]: the answers of the other commands; [`cli`]: the app's command line;
//! - [`collection`]: feeds shared as a JSON file, secrets left out unless asked;
//! - [`ipc`]: the TypeScript declarations of every type above the window receives or sends.

pub mod api;
pub mod assembled;
pub mod bridge;
pub mod cli;
pub mod collection;
pub mod diff;
pub mod ipc;
pub mod persist;
pub mod raw;
pub mod rows;
pub mod saved;
pub mod sorted;
pub mod state;
