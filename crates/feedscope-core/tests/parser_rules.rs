//! Every parsing rule of the WHATWG event-stream interpretation (shared/sse-notes.md 1–11),
//! one test each, named after the rule.

use std::sync::Arc;

use feedscope_core::sse::{parse_all, Item, Limits, Oversize, Parser};

fn items(input: &[u8]) -> Vec<Item> {
    parse_all(input, Limits::default()).0
}

fn ev(ty: &str, id: &str, data: &str) -> Item {
    Item::Event { event_type: Arc::from(ty), id: Arc::from(id), data: data.into() }
}

fn msg(data: &str) -> Item {
    ev("message", "", data)
}

/// Feeds `parts` as separate reads.
fn items_split(parts: &[&[u8]]) -> Vec<Item> {
    let mut p = Parser::default();
    let mut out = Vec::new();
    for part in parts {
        p.push(part, &mut |i| out.push(i));
    }
    p.end_of_body();
    out
}

// 1. Decoding
#[test]
fn invalid_utf8_becomes_replacement_character_and_stream_goes_on() {
    assert_eq!(items(b"data: a\xffb\n\ndata: next\n\n"), [msg("a\u{fffd}b"), msg("next")]);
}

#[test]
fn truncated_multibyte_sequence_before_line_end_is_one_replacement() {
    assert_eq!(items(b"data: \xe2\x82\n\n"), [msg("\u{fffd}")]);
}

#[test]
fn multibyte_character_split_across_reads_is_reassembled() {
    assert_eq!(items_split(&[b"data: \xe2", b"\x82", b"\xac\n\n"]), [msg("€")]);
}

#[test]
fn charset_parameter_is_ignored_body_is_always_utf8() {
    // Latin-1 "é" (0xE9) is not UTF-8: it decodes to U+FFFD, whatever the server claims.
    assert_eq!(items(b"data: caf\xe9\n\n"), [msg("caf\u{fffd}")]);
}

// 2. BOM
#[test]
fn leading_bom_is_stripped() {
    assert_eq!(items(b"\xef\xbb\xbfdata: x\n\n"), [msg("x")]);
}

#[test]
fn only_one_bom_is_stripped_second_makes_unknown_field() {
    assert_eq!(items(b"\xef\xbb\xbf\xef\xbb\xbfdata: x\n\ndata: y\n\n"), [msg("y")]);
}

#[test]
fn bom_split_across_reads_is_stripped() {
    assert_eq!(items_split(&[b"\xef", b"\xbb", b"\xbfdata: x\n\n"]), [msg("x")]);
}

#[test]
fn partial_bom_prefix_is_data() {
    // EF BB followed by something else: not a BOM; the bytes are invalid UTF-8 in a field name.
    assert_eq!(items_split(&[b"\xef\xbb", b"data: x\n\n"]), []);
    assert_eq!(items_split(&[b"\xef", b"\n", b"data: x\n\n"]), [msg("x")]);
}

#[test]
fn bom_is_stripped_again_at_start_of_each_body() {
    let mut p = Parser::default();
    let mut out = Vec::new();
    p.push(b"\xef\xbb\xbfdata: a\n\n", &mut |i| out.push(i));
    p.end_of_body();
    p.push(b"\xef\xbb\xbfdata: b\n\n", &mut |i| out.push(i));
    assert_eq!(out, [msg("a"), msg("b")]);
}

// 3. Line ends
#[test]
fn lf_crlf_and_lone_cr_all_end_lines() {
    assert_eq!(items(b"data: a\r\n\r\ndata: b\n\ndata: c\r\rdata: d\r\n\n"), [msg("a"), msg("b"), msg("c"), msg("d")]);
}

#[test]
fn lone_cr_ends_line_immediately() {
    // The event is dispatched by the CR that ends the read, before any further byte arrives.
    let mut p = Parser::default();
    let mut out = Vec::new();
    p.push(b"data: x\r\r", &mut |i| out.push(i));
    assert_eq!(out, [msg("x")]);
}

#[test]
fn crlf_split_across_reads_is_one_line_end() {
    assert_eq!(items_split(&[b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"]), [msg("a\nb")]);
}

#[test]
fn lf_after_cr_in_next_read_is_not_an_empty_line() {
    // If the LF were taken as a second line end, "data: a" would be dispatched alone.
    assert_eq!(items_split(&[b"data: a\r", b"\ndata: b\n\n"]), [msg("a\nb")]);
}

#[test]
fn cr_in_last_byte_and_empty_next_read_keeps_swallowing_lf() {
    assert_eq!(items_split(&[b"data: a\r", b"", b"\ndata: b\n\n"]), [msg("a\nb")]);
}

// 4. Empty lines and comments
#[test]
fn comment_lines_are_reported_not_dispatched() {
    assert_eq!(
        items(b": heartbeat\n:\ndata: x\n\n"),
        [Item::Comment(" heartbeat".into()), Item::Comment("".into()), msg("x")]
    );
}

#[test]
fn comment_inside_an_event_does_not_break_it() {
    assert_eq!(items(b"data: a\n: note\ndata: b\n\n"), [Item::Comment(" note".into()), msg("a\nb")]);
}

// 5. Field/value split
#[test]
fn value_splits_at_first_colon() {
    assert_eq!(items(b"data: a: b:c\n\n"), [msg("a: b:c")]);
}

#[test]
fn exactly_one_leading_space_is_removed() {
    assert_eq!(items(b"data:  two\n\ndata:none\n\n"), [msg(" two"), msg("none")]);
}

#[test]
fn leading_tab_is_kept() {
    assert_eq!(items(b"data:\tx\n\n"), [msg("\tx")]);
}

#[test]
fn line_without_colon_is_field_with_empty_value() {
    assert_eq!(items(b"data\n\n"), [msg("")]);
    assert_eq!(items(b"data\ndata\n\n"), [msg("\n")]);
}

// 6. Names
#[test]
fn field_names_are_case_sensitive() {
    assert_eq!(items(b"Data: x\n\nDATA: y\n\n"), []);
}

#[test]
fn unknown_fields_are_ignored() {
    assert_eq!(items(b"foo: bar\ndata: x\nevent2: y\n\n"), [msg("x")]);
}

#[test]
fn field_name_with_trailing_space_is_unknown() {
    assert_eq!(items(b"data : x\n\n"), []);
}

// 7. Fields
#[test]
fn event_sets_the_type() {
    assert_eq!(items(b"event: add\ndata: 1\n\n"), [ev("add", "", "1")]);
}

#[test]
fn last_event_field_wins() {
    assert_eq!(items(b"event: a\nevent: b\ndata: 1\n\n"), [ev("b", "", "1")]);
}

#[test]
fn data_lines_join_with_lf() {
    assert_eq!(items(b"data: a\ndata: b\ndata: c\n\n"), [msg("a\nb\nc")]);
}

#[test]
fn id_sets_last_event_id() {
    assert_eq!(items(b"id: 7\ndata: x\n\n"), [ev("message", "7", "x")]);
}

#[test]
fn id_containing_nul_is_ignored() {
    assert_eq!(items(b"id: 1\ndata: a\n\nid: 2\0x\ndata: b\n\n"), [ev("message", "1", "a"), ev("message", "1", "b")]);
}

#[test]
fn empty_id_resets_last_event_id() {
    assert_eq!(items(b"id: 1\ndata: a\n\nid\ndata: b\n\n"), [ev("message", "1", "a"), ev("message", "", "b")]);
    let (_, last) = parse_all(b"id: 1\ndata: a\n\nid:\n\n", Limits::default());
    assert_eq!(&*last, "");
}

#[test]
fn retry_with_digits_sets_reconnection_time() {
    assert_eq!(items(b"retry: 2500\n"), [Item::Retry(2500)]);
}

#[test]
fn retry_with_leading_zeros_is_decimal() {
    assert_eq!(items(b"retry: 03000\n"), [Item::Retry(3000)]);
}

#[test]
fn retry_that_is_not_all_digits_is_ignored() {
    for bad in [
        &b"retry: +5\n"[..],
        b"retry: 5ms\n",
        b"retry:  5\n",
        b"retry: -1\n",
        b"retry: 1.5\n",
        b"retry:\n",
        b"retry: \xd9\xa3\n",
    ] {
        assert_eq!(items(bad), [], "{:?}", String::from_utf8_lossy(bad));
    }
}

#[test]
fn retry_without_data_still_applies() {
    // No blank line, no data: the retry is still reported as soon as its line ends.
    let mut p = Parser::default();
    let mut out = Vec::new();
    p.push(b"retry: 10\n", &mut |i| out.push(i));
    assert_eq!(out, [Item::Retry(10)]);
}

#[test]
fn huge_retry_saturates_instead_of_overflowing() {
    assert_eq!(items(b"retry: 99999999999999999999999\n"), [Item::Retry(u64::MAX)]);
}

// 8–10. Dispatch
#[test]
fn id_only_block_changes_last_event_id_without_event() {
    let (out, last) = parse_all(b"id: 5\n\n", Limits::default());
    assert_eq!(out, []);
    assert_eq!(&*last, "5");
    assert_eq!(items(b"id: 5\n\ndata: x\n\n"), [ev("message", "5", "x")]);
}

#[test]
fn event_type_alone_fires_nothing_and_is_reset() {
    assert_eq!(items(b"event: x\n\ndata: y\n\n"), [msg("y")]);
}

#[test]
fn empty_data_field_fires_event_with_empty_data() {
    assert_eq!(items(b"data:\n\n"), [msg("")]);
}

#[test]
fn one_trailing_lf_is_removed() {
    assert_eq!(items(b"data: a\ndata:\n\n"), [msg("a\n")]);
}

#[test]
fn type_defaults_to_message() {
    assert_eq!(items(b"event:\ndata: x\n\n"), [msg("x")]);
}

#[test]
fn last_event_id_persists_across_events_without_id() {
    assert_eq!(items(b"id: 1\ndata: a\n\ndata: b\n\n"), [ev("message", "1", "a"), ev("message", "1", "b")]);
}

#[test]
fn type_does_not_persist_to_next_event() {
    assert_eq!(items(b"event: t\ndata: a\n\ndata: b\n\n"), [ev("t", "", "a"), msg("b")]);
}

#[test]
fn multiple_blank_lines_dispatch_once() {
    assert_eq!(items(b"data: a\n\n\n\n"), [msg("a")]);
}

// 11. End of body
#[test]
fn unterminated_block_at_eof_is_discarded() {
    assert_eq!(items(b"data: a\n\ndata: b\n"), [msg("a")]);
    assert_eq!(items(b"data: a\n\ndata: b"), [msg("a")]);
}

#[test]
fn id_in_unterminated_block_never_becomes_last_event_id() {
    let mut p = Parser::default();
    let mut out = Vec::new();
    p.push(b"id: 1\ndata: a\n\nid: 2\ndata: b\n", &mut |i| out.push(i));
    p.end_of_body();
    assert_eq!(&**p.last_event_id(), "1");
    // The next body starts clean: its events carry "1" until it sets an id of its own.
    p.push(b"data: c\n\n", &mut |i| out.push(i));
    assert_eq!(out.last(), Some(&ev("message", "1", "c")));
}

#[test]
fn unterminated_retry_at_eof_is_not_applied() {
    assert_eq!(items(b"retry: 10"), []);
}

#[test]
fn initial_last_event_id_is_used_until_the_stream_sets_one() {
    let mut p = Parser::with_last_event_id(Limits::default(), "41");
    let mut out = Vec::new();
    p.push(b"data: a\n\nid: 42\ndata: b\n\n", &mut |i| out.push(i));
    assert_eq!(out, [ev("message", "41", "a"), ev("message", "42", "b")]);
}

// Limits
fn small() -> Limits {
    Limits { max_line_bytes: 16, max_event_bytes: 32 }
}

#[test]
fn overlong_line_is_discarded_and_stream_goes_on() {
    let (out, _) = parse_all(b"data: 0123456789abcdefXYZ\n\ndata: ok\n\n", small());
    assert_eq!(out, [Item::TooLarge { what: Oversize::Line, limit: 16 }, msg("ok")]);
}

#[test]
fn overlong_line_arriving_in_pieces_is_discarded_and_reported_once() {
    let mut p = Parser::new(small());
    let mut out = Vec::new();
    p.push(b"data: 0123", &mut |i| out.push(i));
    for _ in 0..1000 {
        p.push(b"0123456789", &mut |i| out.push(i));
    }
    p.push(b"\n\ndata: ok\n\n", &mut |i| out.push(i));
    assert_eq!(out, [Item::TooLarge { what: Oversize::Line, limit: 16 }, msg("ok")]);
}

#[test]
fn event_larger_than_limit_is_discarded_but_its_id_applies() {
    let (out, last) =
        parse_all(b"id: 9\ndata: 0123456789\ndata: 0123456789\ndata: 0123456789\n\ndata: ok\n\n", small());
    assert_eq!(out, [Item::TooLarge { what: Oversize::Event, limit: 32 }, ev("message", "9", "ok")]);
    assert_eq!(&*last, "9");
}

#[test]
fn unbounded_line_keeps_memory_bounded() {
    // 64 MiB without a line end against a 1 MiB limit: the parser never holds more than the limit.
    let limits = Limits { max_line_bytes: 1 << 20, max_event_bytes: 1 << 20 };
    let mut p = Parser::new(limits);
    let chunk = vec![b'a'; 16 << 10];
    let mut reports = 0;
    for _ in 0..4096 {
        p.push(&chunk, &mut |_| reports += 1);
    }
    assert_eq!(reports, 1);
    let mut out = Vec::new();
    // The line ends; the block it damaged ends at the blank line, then the stream goes on.
    p.push(b"\n\ndata: after\n\n", &mut |i| out.push(i));
    assert_eq!(out, [msg("after")]);
}

#[test]
fn end_of_body_returns_the_partial_event_inside_one_and_none_between() {
    let mut p = Parser::default();
    let mut out = Vec::new();
    p.push(b"id: 1\ndata: a\n\nevent: tick\nid: 2\ndata: b\ndata: c\nda", &mut |i| out.push(i));
    assert_eq!(out, [ev("message", "1", "a")]);
    // What had arrived of the cut event: its fields as lines, then the unterminated line.
    assert_eq!(p.end_of_body().as_deref(), Some("event: tick\nid: 2\ndata: b\ndata: c\nda"));
    assert_eq!(&**p.last_event_id(), "1", "the cut event's id never applies");
    // Between events (a comment and a retry are no event), nothing was cut.
    p.push(b"data: x\n\n: heartbeat\nretry: 500\n", &mut |_| {});
    assert_eq!(p.end_of_body(), None);
    // A bare unterminated line is already inside an event; an `id:`-only block too.
    p.push(b"data: y", &mut |_| {});
    assert_eq!(p.end_of_body().as_deref(), Some("data: y"));
    p.push(b"id: 7\n", &mut |_| {});
    assert_eq!(p.end_of_body().as_deref(), Some("id: 7\n"));
    assert_eq!(p.end_of_body(), None, "each body starts afresh");
}
