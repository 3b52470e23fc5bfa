//! The app's command line (`feedscope-app [URL...]`), parsed before any window exists.

use feedscope_core::FeedConfig;

pub const HELP: &str = "\
Feedscope: a viewer for live Server-Sent Events feeds

Usage: feedscope-app [OPTIONS] [URL]...

Opens the Feedscope window. Each URL (http or https) is added as a feed and connected, like an
editor opening files; a URL that is already a feed is reconnected and shown.

Options:
      --no-demo   Do not start the built-in demo server for this run
  -h, --help      Print this help
  -V, --version   Print the version

Feeds and settings are kept in $XDG_DATA_HOME/dev.feedscope.app/feedscope.json.
";

/// What the app was asked to do.
#[derive(Debug, PartialEq, Eq)]
pub enum Launch {
    Help,
    Version,
    Run(LaunchOptions),
}

/// How to open the window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LaunchOptions {
    /// Feeds to add (or reuse) and connect, the first one shown.
    pub urls: Vec<String>,
    /// Start the built-in demo server (and its feed).
    pub demo: bool,
}

/// Parses the arguments after the program name; an error is a message for stderr.
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Launch, String> {
    let mut urls = Vec::new();
    let mut demo = true;
    let mut only_urls = false;
    for a in args {
        match a.as_str() {
            _ if only_urls => urls.push(a),
            "-h" | "--help" => return Ok(Launch::Help),
            "-V" | "--version" => return Ok(Launch::Version),
            "--no-demo" => demo = false,
            "--" => only_urls = true,
            s if s.starts_with('-') => return Err(format!("unknown option {s:?} (see --help)")),
            _ => urls.push(a),
        }
    }
    for u in &urls {
        FeedConfig::new(u.clone()).validate().map_err(|e| format!("{u}: {e}"))?;
    }
    Ok(Launch::Run(LaunchOptions { urls, demo }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Launch, String> {
        parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn urls_options_and_errors() {
        assert_eq!(p(&[]), Ok(Launch::Run(LaunchOptions { urls: vec![], demo: true })));
        assert_eq!(p(&["--help", "x"]), Ok(Launch::Help));
        assert_eq!(p(&["-V"]), Ok(Launch::Version));
        assert_eq!(
            p(&["--no-demo", "http://127.0.0.1:9/a"]),
            Ok(Launch::Run(LaunchOptions { urls: vec!["http://127.0.0.1:9/a".into()], demo: false }))
        );
        assert!(p(&["ftp://x/"]).unwrap_err().contains("http or https"));
        assert!(p(&["--bogus"]).is_err());
    }
}
