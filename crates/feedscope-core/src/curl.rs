//! A pasted `curl …` command turned into a [`FeedConfig`], so a request copied from a browser's
//! network panel or an API's docs becomes a feed. Only the options that shape the request are read.
//!
//! The command is split as a POSIX shell would (single quotes, double quotes with backslash
//! escapes, backslash-newline continuations, `$'…'`), with no expansion of variables. Then:
//! - the URL (a bare word or `--url`); one only. Without a scheme it gets `http://`, as curl does;
//! - `-X/--request`; otherwise POST when there is a body, else GET;
//! - `-H/--header`, `-A/--user-agent`, `-b/--cookie NAME=VALUE`;
//! - `-d/--data/--data-ascii/--data-binary/--data-raw`, joined with `&` like curl, and
//!   `Content-Type: application/x-www-form-urlencoded` unless one is set;
//! - `--json`: the body, `Content-Type: application/json` unless set, and
//!   `Accept: application/json, text/event-stream` unless an `Accept` is set. curl would send
//!   `Accept: application/json`, but this is a feed: servers that negotiate (MCP's Streamable
//!   HTTP among them) answer with a stream only when `text/event-stream` is acceptable;
//! - `-u/--user user:password` as `Authorization: Basic …` (unless an `Authorization` is set);
//! - `-k/--insecure`;
//! - flags that change only curl's own output are accepted and listed in [`CurlFeed::ignored`]:
//!   `-N/--no-buffer`, `-s/--silent`, `-S/--show-error`, `-v/--verbose`, `-L/--location`,
//!   `--compressed` (the engine decodes gzip and deflate anyway), `-i/--include`.
//!
//! Any other option is refused with its name: a feed that quietly differs from the command would
//! be worse than no feed.

use crate::feed::{ConfigError, FeedConfig, Header};

/// A feed made from a curl command; its `config` passed [`FeedConfig::validate_user_settings`].
#[derive(Debug, Clone, PartialEq)]
pub struct CurlFeed {
    pub config: FeedConfig,
    /// The accepted options that have no effect on a feed (`-s`, `-N`, …), as written.
    pub ignored: Vec<String>,
}

/// Why a curl command could not become a feed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CurlError {
    #[error("the command is empty: paste a command that starts with `curl`")]
    Empty,
    #[error("this is not a curl command: it starts with {0:?}, not `curl`")]
    NotCurl(String),
    #[error("unterminated {quote} quote: the command ends inside a quoted string")]
    UnterminatedQuote { quote: char },
    #[error("the command is not valid UTF-8 after its `$'…'` escapes")]
    NotUtf8,
    #[error("unsupported curl option {0}: only options that shape the request can make a feed")]
    UnknownOption(String),
    #[error("curl option {0} needs a value")]
    MissingValue(String),
    #[error("no URL in the command")]
    NoUrl,
    #[error("more than one URL ({0} and {1}): a feed reads one")]
    SeveralUrls(String, String),
    #[error("{option} {value:?} reads a file, which a pasted command cannot do: paste the contents instead")]
    FromFile { option: String, value: String },
    #[error("-u {0:?} has no password (curl would ask for it): write user:password")]
    UserWithoutPassword(String),
    #[error("{option} {value:?} is a cookie file, not NAME=VALUE")]
    CookieFile { option: String, value: String },
    /// A header or the finished settings were refused; [`ConfigError::field`] names the setting.
    #[error(transparent)]
    Config(#[from] ConfigError),
}

/// What an option does, by its canonical long name.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Opt {
    Url,
    Request,
    Header,
    UserAgent,
    Cookie,
    Data,
    DataRaw,
    Json,
    User,
    Insecure,
    Harmless,
}

impl Opt {
    fn takes_value(self) -> bool {
        !matches!(self, Opt::Insecure | Opt::Harmless)
    }
}

fn long_option(name: &str) -> Option<Opt> {
    Some(match name {
        "url" => Opt::Url,
        "request" => Opt::Request,
        "header" => Opt::Header,
        "user-agent" => Opt::UserAgent,
        "cookie" => Opt::Cookie,
        "data" | "data-ascii" | "data-binary" => Opt::Data,
        "data-raw" => Opt::DataRaw,
        "json" => Opt::Json,
        "user" => Opt::User,
        "insecure" => Opt::Insecure,
        "no-buffer" | "silent" | "show-error" | "verbose" | "location" | "compressed" | "include" => Opt::Harmless,
        _ => return None,
    })
}

fn short_option(c: char) -> Option<Opt> {
    Some(match c {
        'X' => Opt::Request,
        'H' => Opt::Header,
        'A' => Opt::UserAgent,
        'b' => Opt::Cookie,
        'd' => Opt::Data,
        'u' => Opt::User,
        'k' => Opt::Insecure,
        'N' | 's' | 'S' | 'v' | 'L' | 'i' => Opt::Harmless,
        _ => return None,
    })
}

/// Parses a pasted `curl` command into a validated feed; see the module documentation for what
/// is read.
pub fn parse_curl(command: &str) -> Result<CurlFeed, CurlError> {
    let words = split_words(command)?;
    let mut words = words.into_iter();
    let first = words.next().ok_or(CurlError::Empty)?;
    let program = first.rsplit(['/', '\\']).next().unwrap_or(&first);
    if !matches!(program, "curl" | "curl.exe") {
        return Err(CurlError::NotCurl(first));
    }

    let mut b = Builder::default();
    let mut only_urls = false;
    while let Some(word) = words.next() {
        if only_urls || !word.starts_with('-') || word == "-" {
            b.url(word)?;
        } else if word == "--" {
            only_urls = true;
        } else if let Some(name) = word.strip_prefix("--") {
            let opt = long_option(name).ok_or_else(|| CurlError::UnknownOption(word.clone()))?;
            let value = if opt.takes_value() {
                Some(words.next().ok_or_else(|| CurlError::MissingValue(word.clone()))?)
            } else {
                None
            };
            b.apply(opt, &word, value)?;
        } else {
            // Short options combine (`-sN`) and take their value attached or as the next word
            // (`-XPOST`, `-X POST`).
            let flags = &word[1..];
            for (i, c) in flags.char_indices() {
                let written = format!("-{c}");
                let opt = short_option(c).ok_or_else(|| CurlError::UnknownOption(written.clone()))?;
                if !opt.takes_value() {
                    b.apply(opt, &written, None)?;
                    continue;
                }
                let rest = &flags[i + c.len_utf8()..];
                let value = if rest.is_empty() {
                    words.next().ok_or_else(|| CurlError::MissingValue(written.clone()))?
                } else {
                    rest.to_owned()
                };
                b.apply(opt, &written, Some(value))?;
                break;
            }
        }
    }
    b.finish()
}

#[derive(Default)]
struct Builder {
    url: Option<String>,
    method: Option<String>,
    headers: Vec<Header>,
    body: Option<String>,
    /// `--json` was used: its content type and accept headers are added at the end.
    json: bool,
    /// `-d` and friends were used: curl's form content type is added at the end.
    form: bool,
    user: Option<String>,
    insecure: bool,
    ignored: Vec<String>,
}

impl Builder {
    fn url(&mut self, url: String) -> Result<(), CurlError> {
        match &self.url {
            Some(first) => Err(CurlError::SeveralUrls(first.clone(), url)),
            None => {
                self.url = Some(url);
                Ok(())
            }
        }
    }

    fn apply(&mut self, opt: Opt, written: &str, value: Option<String>) -> Result<(), CurlError> {
        let value = value.unwrap_or_default();
        match opt {
            Opt::Url => self.url(value)?,
            Opt::Request => self.method = Some(value),
            Opt::Header => {
                if value.starts_with('@') {
                    return Err(CurlError::FromFile { option: written.into(), value });
                }
                self.headers.push(Header::parse(&value)?);
            }
            Opt::UserAgent => self.headers.push(Header::parse(&format!("User-Agent: {value}"))?),
            Opt::Cookie => {
                if !value.contains('=') {
                    return Err(CurlError::CookieFile { option: written.into(), value });
                }
                self.headers.push(Header::parse(&format!("Cookie: {value}"))?);
            }
            Opt::Data | Opt::DataRaw => {
                if opt == Opt::Data && value.starts_with('@') {
                    return Err(CurlError::FromFile { option: written.into(), value });
                }
                self.form = true;
                match &mut self.body {
                    Some(body) => {
                        body.push('&');
                        body.push_str(&value);
                    }
                    None => self.body = Some(value),
                }
            }
            Opt::Json => {
                if value.starts_with('@') {
                    return Err(CurlError::FromFile { option: written.into(), value });
                }
                self.json = true;
                // curl concatenates several --json pieces with no separator.
                self.body.get_or_insert_with(String::new).push_str(&value);
            }
            Opt::User => {
                if !value.contains(':') {
                    return Err(CurlError::UserWithoutPassword(value));
                }
                self.user = Some(value);
            }
            Opt::Insecure => self.insecure = true,
            Opt::Harmless => self.ignored.push(written.into()),
        }
        Ok(())
    }

    fn has_header(&self, name: &str) -> bool {
        self.headers.iter().any(|h| h.name.eq_ignore_ascii_case(name))
    }

    fn finish(mut self) -> Result<CurlFeed, CurlError> {
        let mut url = self.url.take().ok_or(CurlError::NoUrl)?;
        if !url.contains("://") {
            url.insert_str(0, "http://");
        }
        if self.json {
            if !self.has_header("content-type") {
                self.headers.push(Header { name: "Content-Type".into(), value: "application/json".into() });
            }
            if !self.has_header("accept") {
                let value = "application/json, text/event-stream".into();
                self.headers.push(Header { name: "Accept".into(), value });
            }
        } else if self.form && !self.has_header("content-type") {
            let value = "application/x-www-form-urlencoded".into();
            self.headers.push(Header { name: "Content-Type".into(), value });
        }
        if let Some(user) = &self.user {
            if !self.has_header("authorization") {
                let value = format!("Basic {}", base64(user.as_bytes()));
                self.headers.push(Header { name: "Authorization".into(), value });
            }
        }
        let method = match self.method {
            Some(m) => m,
            None if self.body.is_some() => "POST".into(),
            None => "GET".into(),
        };
        let config = FeedConfig {
            url,
            method,
            headers: self.headers,
            body: self.body,
            insecure: self.insecure,
            ..FeedConfig::default()
        };
        config.validate_user_settings()?;
        Ok(CurlFeed { config, ignored: self.ignored })
    }
}

/// Standard base64 with padding (RFC 4648), for `-u`: one short string does not need a crate.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Splits a command into words as a POSIX shell does, without expanding anything. A newline
/// separates words like a space (a command pasted without its `\` continuations still reads).
fn split_words(s: &str) -> Result<Vec<String>, CurlError> {
    let mut words = Vec::new();
    // Bytes, because `$'\xHH'` may build UTF-8 from pieces; checked when the word ends.
    let mut word: Vec<u8> = Vec::new();
    let mut in_word = false;
    let mut chars = s.chars().peekable();
    let push = |word: &mut Vec<u8>, c: char| word.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
    let mut end_word = |word: &mut Vec<u8>, in_word: &mut bool| -> Result<(), CurlError> {
        if *in_word {
            words.push(String::from_utf8(std::mem::take(word)).map_err(|_| CurlError::NotUtf8)?);
            *in_word = false;
        }
        Ok(())
    };
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' | '\r' => end_word(&mut word, &mut in_word)?,
            '\\' => match chars.next() {
                Some('\n') => {}
                Some('\r') if chars.peek() == Some(&'\n') => {
                    chars.next();
                }
                Some(next) => {
                    push(&mut word, next);
                    in_word = true;
                }
                None => {}
            },
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => push(&mut word, c),
                        None => return Err(CurlError::UnterminatedQuote { quote: '\'' }),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('$' | '`' | '"' | '\\')) => push(&mut word, c),
                            Some('\n') => {}
                            Some(c) => {
                                word.push(b'\\');
                                push(&mut word, c);
                            }
                            None => return Err(CurlError::UnterminatedQuote { quote: '"' }),
                        },
                        Some(c) => push(&mut word, c),
                        None => return Err(CurlError::UnterminatedQuote { quote: '"' }),
                    }
                }
            }
            '$' if chars.peek() == Some(&'\'') => {
                chars.next();
                in_word = true;
                ansi_c_quoted(&mut chars, &mut word)?;
            }
            c => {
                push(&mut word, c);
                in_word = true;
            }
        }
    }
    end_word(&mut word, &mut in_word)?;
    Ok(words)
}

/// The inside of bash's `$'…'`, after the opening quote: backslash escapes as in C.
fn ansi_c_quoted(chars: &mut std::iter::Peekable<std::str::Chars>, word: &mut Vec<u8>) -> Result<(), CurlError> {
    let unterminated = CurlError::UnterminatedQuote { quote: '\'' };
    loop {
        let c = chars.next().ok_or(unterminated.clone())?;
        if c == '\'' {
            return Ok(());
        }
        if c != '\\' {
            word.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
            continue;
        }
        let e = chars.next().ok_or(unterminated.clone())?;
        let simple = match e {
            'n' => Some(b'\n'),
            't' => Some(b'\t'),
            'r' => Some(b'\r'),
            'a' => Some(0x07),
            'b' => Some(0x08),
            'e' | 'E' => Some(0x1b),
            'f' => Some(0x0c),
            'v' => Some(0x0b),
            '\\' | '\'' | '"' | '?' => Some(e as u8),
            _ => None,
        };
        if let Some(byte) = simple {
            word.push(byte);
            continue;
        }
        let (radix, max_digits) = match e {
            'x' => (16, 2),
            'u' => (16, 4),
            'U' => (16, 8),
            '0'..='7' => (8, 3),
            _ => {
                // bash keeps an unknown escape as written.
                word.push(b'\\');
                word.extend_from_slice(e.encode_utf8(&mut [0; 4]).as_bytes());
                continue;
            }
        };
        let mut digits = String::new();
        if radix == 8 {
            digits.push(e);
        }
        while digits.len() < max_digits {
            match chars.peek() {
                Some(d) if d.is_digit(radix) => {
                    digits.push(*d);
                    chars.next();
                }
                _ => break,
            }
        }
        let Ok(n) = u32::from_str_radix(&digits, radix) else {
            // `\x` with no digit: bash keeps it as written.
            word.push(b'\\');
            word.extend_from_slice(e.encode_utf8(&mut [0; 4]).as_bytes());
            continue;
        };
        if matches!(e, 'u' | 'U') {
            let c = char::from_u32(n).ok_or(CurlError::NotUtf8)?;
            word.extend_from_slice(c.encode_utf8(&mut [0; 4]).as_bytes());
        } else {
            word.push(n as u8);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let cases =
            [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE=")];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded, "{plain}");
        }
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    }
}
