//! The app's command line, parsed before any window exists: `feedscope-app [URL...]`.

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

#[derive(Debug, PartialEq, Eq)]
pub enum Cli {
    Help,
    Version,
    Run { urls: Vec<String>, demo: bool },
}

/// Parses the arguments after the program name; an error is a message for stderr.
pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Cli, String> {
    let mut urls = Vec::new();
    let mut demo = true;
    let mut only_urls = false;
    for a in args {
        match a.as_str() {
            _ if only_urls => urls.push(a),
            "-h" | "--help" => return Ok(Cli::Help),
            "-V" | "--version" => return Ok(Cli::Version),
            "--no-demo" => demo = false,
            "--" => only_urls = true,
            s if s.starts_with('-') => return Err(format!("unknown option {s:?} (see --help)")),
            _ => urls.push(a),
        }
    }
    for u in &urls {
        FeedConfig::new(u.clone()).validate().map_err(|e| format!("{u}: {e}"))?;
    }
    Ok(Cli::Run { urls, demo })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Cli, String> {
        parse(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn urls_options_and_errors() {
        assert_eq!(p(&[]), Ok(Cli::Run { urls: vec![], demo: true }));
        assert_eq!(p(&["--help", "x"]), Ok(Cli::Help));
        assert_eq!(p(&["-V"]), Ok(Cli::Version));
        assert_eq!(
            p(&["--no-demo", "http://127.0.0.1:9/a"]),
            Ok(Cli::Run { urls: vec!["http://127.0.0.1:9/a".into()], demo: false })
        );
        assert!(p(&["ftp://x/"]).unwrap_err().contains("http or https"));
        assert!(p(&["--bogus"]).is_err());
    }
}
