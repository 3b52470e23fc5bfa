//! `parse_curl`: each option and each quoting rule a pasted command may use, and the refusals.

use feedscope_core::{parse_curl, ConfigError, CurlError, FeedConfig, Header};

fn feed(command: &str) -> FeedConfig {
    parse_curl(command).unwrap_or_else(|e| panic!("{command}: {e}")).config
}

fn headers(c: &FeedConfig) -> Vec<(&str, &str)> {
    c.headers.iter().map(|h| (h.name.as_str(), h.value.as_str())).collect()
}

#[test]
fn a_bare_url_is_a_get_with_default_settings() {
    let c = feed("curl https://example.test/events");
    assert_eq!(c, FeedConfig::new("https://example.test/events"));
    assert_eq!(feed("curl --url https://example.test/e").url, "https://example.test/e");
    assert_eq!(feed("/usr/bin/curl http://a.test/").url, "http://a.test/");
}

#[test]
fn a_url_without_a_scheme_gets_http_as_in_curl() {
    assert_eq!(feed("curl localhost:8080/events").url, "http://localhost:8080/events");
}

#[test]
fn each_option_sets_its_field() {
    // (command, method, headers, body, insecure)
    type Case = (&'static str, &'static str, &'static [(&'static str, &'static str)], Option<&'static str>, bool);
    const FORM: (&str, &str) = ("Content-Type", "application/x-www-form-urlencoded");
    let cases: &[Case] = &[
        ("curl -X PUT http://a.test/", "PUT", &[], None, false),
        ("curl -XPATCH http://a.test/", "PATCH", &[], None, false),
        ("curl --request DELETE http://a.test/", "DELETE", &[], None, false),
        ("curl -H 'X-A: 1' --header 'X-B:2' http://a.test/", "GET", &[("X-A", "1"), ("X-B", "2")], None, false),
        ("curl -H'X-A: 1' http://a.test/", "GET", &[("X-A", "1")], None, false),
        ("curl -d a=1 http://a.test/", "POST", &[FORM], Some("a=1"), false),
        (
            "curl -d a=1 --data b=2 --data-raw @c --data-binary d --data-ascii e http://a.test/",
            "POST",
            &[FORM],
            Some("a=1&b=2&@c&d&e"),
            false,
        ),
        ("curl -X PUT -d x http://a.test/", "PUT", &[FORM], Some("x"), false),
        (
            "curl -d x -H 'content-type: text/plain' http://a.test/",
            "POST",
            &[("content-type", "text/plain")],
            Some("x"),
            false,
        ),
        (
            "curl --json '{\"a\":1}' http://a.test/",
            "POST",
            &[("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream")],
            Some("{\"a\":1}"),
            false,
        ),
        (
            "curl --json '{' --json '}' -H 'Accept: text/event-stream' http://a.test/",
            "POST",
            &[("Accept", "text/event-stream"), ("Content-Type", "application/json")],
            Some("{}"),
            false,
        ),
        (
            "curl -u aladdin:opensesame http://a.test/",
            "GET",
            &[("Authorization", "Basic YWxhZGRpbjpvcGVuc2VzYW1l")],
            None,
            false,
        ),
        ("curl --user 'a:b c' http://a.test/", "GET", &[("Authorization", "Basic YTpiIGM=")], None, false),
        (
            "curl -u a:b -H 'Authorization: Bearer t' http://a.test/",
            "GET",
            &[("Authorization", "Bearer t")],
            None,
            false,
        ),
        (
            "curl -A probe/1 -b 'k=v; j=w' http://a.test/",
            "GET",
            &[("User-Agent", "probe/1"), ("Cookie", "k=v; j=w")],
            None,
            false,
        ),
        ("curl -k https://a.test/", "GET", &[], None, true),
        ("curl --insecure https://a.test/", "GET", &[], None, true),
        ("curl -sNk https://a.test/", "GET", &[], None, true),
    ];
    for &(command, method, want_headers, body, insecure) in cases {
        let c = feed(command);
        assert_eq!(c.method, method, "{command}");
        assert_eq!(headers(&c), want_headers, "{command}");
        assert_eq!(c.body.as_deref(), body, "{command}");
        assert_eq!(c.insecure, insecure, "{command}");
    }
}

#[test]
fn harmless_flags_are_accepted_and_listed() {
    let parsed = parse_curl("curl -N -s -S -v -L -i --no-buffer --silent --show-error --verbose --location --compressed --include -sSL http://a.test/").unwrap();
    assert_eq!(parsed.config, FeedConfig::new("http://a.test/"));
    let want = [
        "-N",
        "-s",
        "-S",
        "-v",
        "-L",
        "-i",
        "--no-buffer",
        "--silent",
        "--show-error",
        "--verbose",
        "--location",
        "--compressed",
        "--include",
        "-s",
        "-S",
        "-L",
    ];
    assert_eq!(parsed.ignored, want);
}

#[test]
fn quoting_follows_the_posix_shell() {
    let body = |command: &str| feed(command).body.unwrap();
    let cases = [
        // single quotes keep everything, backslashes and double quotes included
        (r#"curl -d '{"a": "b\n"}' http://a.test/"#, r#"{"a": "b\n"}"#),
        // double quotes: \" \\ \$ \` are escapes, any other backslash stays
        (r#"curl -d "{\"a\": \"\$x \\ \n\"}" http://a.test/"#, r#"{"a": "$x \ \n"}"#),
        // adjacent quoted and bare pieces make one word
        (r#"curl -d 'a'"b"c\ d http://a.test/"#, "abc d"),
        // $'…' with C escapes, as Chrome's "Copy as cURL" writes bodies
        (r#"curl --data-raw $'{\"t\":\"it\'s\"}\n\x41\u00e9' http://a.test/"#, "{\"t\":\"it's\"}\nAé"),
        // an empty quoted word is still a word
        ("curl -d '' http://a.test/", ""),
    ];
    for (command, want) in cases {
        assert_eq!(body(command), want, "{command}");
    }
}

#[test]
fn backslash_newline_continues_the_command() {
    let c = feed("curl 'https://api.test/v1/stream' \\\n  -H 'Authorization: Bearer t' \\\r\n  -H \"Accept: text/event-stream\" \\\n  --json '{}'\n");
    assert_eq!(c.url, "https://api.test/v1/stream");
    assert_eq!(c.method, "POST");
    assert_eq!(
        headers(&c),
        [("Authorization", "Bearer t"), ("Accept", "text/event-stream"), ("Content-Type", "application/json")]
    );
    // and a command pasted without its continuations reads the same
    assert_eq!(feed("curl https://api.test/\n-H 'X: 1'").headers, [Header { name: "X".into(), value: "1".into() }]);
}

#[test]
fn refusals_name_what_is_wrong() {
    let cases: &[(&str, CurlError)] = &[
        ("", CurlError::Empty),
        ("   \n", CurlError::Empty),
        ("wget http://a.test/", CurlError::NotCurl("wget".into())),
        ("curl 'http://a.test/", CurlError::UnterminatedQuote { quote: '\'' }),
        ("curl \"http://a.test/", CurlError::UnterminatedQuote { quote: '"' }),
        ("curl $'http://a.test/", CurlError::UnterminatedQuote { quote: '\'' }),
        ("curl -s", CurlError::NoUrl),
        ("curl -X GET -H 'A: b'", CurlError::NoUrl),
        ("curl --http2 http://a.test/", CurlError::UnknownOption("--http2".into())),
        ("curl -o out.txt http://a.test/", CurlError::UnknownOption("-o".into())),
        ("curl -sZ http://a.test/", CurlError::UnknownOption("-Z".into())),
        ("curl --url=http://a.test/", CurlError::UnknownOption("--url=http://a.test/".into())),
        ("curl http://a.test/ -H", CurlError::MissingValue("-H".into())),
        ("curl http://a.test/ --json", CurlError::MissingValue("--json".into())),
        (
            "curl http://a.test/ http://b.test/",
            CurlError::SeveralUrls("http://a.test/".into(), "http://b.test/".into()),
        ),
        ("curl -d @body.json http://a.test/", CurlError::FromFile { option: "-d".into(), value: "@body.json".into() }),
        ("curl -H @h.txt http://a.test/", CurlError::FromFile { option: "-H".into(), value: "@h.txt".into() }),
        ("curl -u alice http://a.test/", CurlError::UserWithoutPassword("alice".into())),
        ("curl -b jar.txt http://a.test/", CurlError::CookieFile { option: "-b".into(), value: "jar.txt".into() }),
        ("curl -H 'NoColon' http://a.test/", CurlError::Config(ConfigError::HeaderSyntax("NoColon".into()))),
        ("curl -X 'GE T' http://a.test/", CurlError::Config(ConfigError::Method("GE T".into()))),
        ("curl ftp://a.test/", CurlError::Config(ConfigError::Scheme("ftp".into()))),
    ];
    for (command, want) in cases {
        assert_eq!(parse_curl(command).as_ref().unwrap_err(), want, "{command:?}");
    }
    let e = parse_curl("curl --http2 http://a.test/").unwrap_err().to_string();
    assert!(e.contains("--http2"), "{e}");
}

#[test]
fn after_double_dash_every_word_is_a_url() {
    assert_eq!(feed("curl -- -weird.test").url, "http://-weird.test");
}

#[test]
fn every_parsed_feed_passes_user_validation() {
    let c = feed("curl -k -u a:b --json '{}' https://a.test/s");
    assert!(c.validate_user_settings().is_ok());
}
