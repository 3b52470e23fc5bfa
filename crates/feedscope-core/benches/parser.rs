//! Parser throughput: `feedscope_core::sse::Parser` on demo-style small events, 1 MiB events and
//! a 64 MiB line, with `eventsource-stream` on the same bytes and the same reads as the reference.
//!
//! `cargo bench -p feedscope-core --bench parser`; figures and their reading in docs/PERFORMANCE.md.
//! Under `cargo test --benches` (criterion's test mode) the inputs shrink so each case runs once, quickly.

mod common;

use std::convert::Infallible;
use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, SamplingMode, Throughput};
use eventsource_stream::Eventsource;
use feedscope_core::sse::{Item, Limits, Parser};
use futures::StreamExt;

/// What a socket read typically hands the parser.
const READ: usize = 16 << 10;

/// Input sizes: full ones under `cargo bench`, small ones when criterion only checks that each
/// benchmark runs (`cargo test --benches`, or `cargo bench -- --test`).
struct Sizes {
    small_events: usize,
    big_events: usize,
    big_event_bytes: usize,
    huge_line_bytes: usize,
}

impl Sizes {
    fn get() -> Sizes {
        // The same rule criterion uses to choose between measuring and test mode.
        let args: Vec<String> = std::env::args().collect();
        let measuring = args.iter().any(|a| a == "--bench") && !args.iter().any(|a| a == "--test");
        if measuring {
            Sizes { small_events: 10_000, big_events: 8, big_event_bytes: 1 << 20, huge_line_bytes: 64 << 20 }
        } else {
            Sizes { small_events: 500, big_events: 2, big_event_bytes: 64 << 10, huge_line_bytes: 4 << 20 }
        }
    }
}

/// Events dispatched and the data bytes they carried: what a fixture holds, and what a parser found.
type Tally = (usize, usize);

/// An input and what a correct parser finds in it.
struct Fixture {
    bytes: Vec<u8>,
    expect: Tally,
}

/// `n` demo-style events of about 100 bytes (shared with the ingest benchmark).
fn small_events(n: usize) -> Fixture {
    let (bytes, data_bytes) = common::small_events(n);
    Fixture { bytes, expect: (n, data_bytes) }
}

/// `n` events of `size` data bytes each, as one `data:` line per event.
fn big_events_one_line(n: usize, size: usize) -> Fixture {
    let mut out = Vec::with_capacity(n * (size + 16));
    for i in 0..n {
        out.extend_from_slice(b"data: ");
        out.extend(std::iter::repeat_n(b'a' + (i % 26) as u8, size));
        out.extend_from_slice(b"\n\n");
    }
    Fixture { bytes: out, expect: (n, n * size) }
}

/// `n` events of `size` data bytes each, as 1 KiB `data:` lines (1023 bytes and the LF joining them).
fn big_events_many_lines(n: usize, size: usize) -> Fixture {
    let line = format!("data: {}\n", "b".repeat(1023));
    let lines = size / 1024;
    let mut out = Vec::with_capacity(n * (size + size / 128));
    for _ in 0..n {
        for _ in 0..lines {
            out.extend_from_slice(line.as_bytes());
        }
        out.push(b'\n');
    }
    Fixture { bytes: out, expect: (n, n * (lines * 1024 - 1)) }
}

/// One line of `size` bytes (`data: xxx…`), then the blank line that dispatches it.
fn huge_line(size: usize) -> Fixture {
    let mut out = Vec::with_capacity(size + 8);
    out.extend_from_slice(b"data: ");
    out.resize(size, b'x');
    out.extend_from_slice(b"\n\n");
    Fixture { bytes: out, expect: (1, size - 6) }
}

// Not inlined, so that profilers (callgrind --toggle-collect) see one frame per parse.
#[inline(never)]
fn feedscope(input: &[u8], read: usize, limits: Limits) -> Tally {
    let mut parser = Parser::new(limits);
    let mut tally = (0, 0);
    let mut sink = |item: Item| {
        if let Item::Event { data, .. } = item {
            tally.0 += 1;
            tally.1 += data.len();
            black_box(data);
        }
    };
    for chunk in input.chunks(read) {
        parser.push(black_box(chunk), &mut sink);
    }
    parser.end_of_body();
    tally
}

/// The same input through `eventsource-stream`, fed the same reads (slices: it copies them into
/// its own buffer anyway, so prebuilt `Bytes` would cost it nothing less).
#[inline(never)]
fn eventsource_stream(input: &[u8], read: usize) -> Tally {
    let chunks = futures::stream::iter(input.chunks(read).map(|c| Ok::<_, Infallible>(black_box(c))));
    futures::executor::block_on(chunks.eventsource().fold((0, 0), |(n, bytes), ev| {
        let ev = ev.expect("eventsource-stream parses the fixture");
        let len = ev.data.len();
        black_box(ev);
        async move { (n + 1, bytes + len) }
    }))
}

type Group<'a> = BenchmarkGroup<'a, WallTime>;

fn configure(group: &mut Group<'_>, events: usize, bytes: usize) {
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .throughput(Throughput::ElementsAndBytes { elements: events as u64, bytes: bytes as u64 });
}

/// Times `run` under `name`, after checking once, and only if this benchmark is selected, that it
/// finds what the fixture holds (a parser that drops events must not look fast).
fn bench_checked(group: &mut Group<'_>, name: &str, expect: Tally, run: impl Fn() -> Tally) {
    let mut checked = false;
    group.bench_function(name, |b| {
        if !checked {
            assert_eq!(run(), expect, "{name} misparsed the fixture");
            checked = true;
        }
        b.iter(&run)
    });
}

/// Both parsers on the fixture in 16 KiB reads.
fn against_reference(c: &mut Criterion, name: &str, fixture: &Fixture, flat: bool) {
    let input = &fixture.bytes[..];
    let mut group = c.benchmark_group(name);
    configure(&mut group, fixture.expect.0, input.len());
    if flat {
        group.sampling_mode(SamplingMode::Flat);
    }
    bench_checked(&mut group, "feedscope", fixture.expect, || feedscope(black_box(input), READ, Limits::default()));
    bench_checked(&mut group, "eventsource-stream", fixture.expect, || eventsource_stream(black_box(input), READ));
    group.finish();
}

fn small(c: &mut Criterion) {
    let sizes = Sizes::get();
    against_reference(c, "parse_100B_events", &small_events(sizes.small_events), false);
}

fn big(c: &mut Criterion) {
    let sizes = Sizes::get();
    let one_line = big_events_one_line(sizes.big_events, sizes.big_event_bytes);
    against_reference(c, "parse_1MiB_events_one_line", &one_line, true);
    let many_lines = big_events_many_lines(sizes.big_events, sizes.big_event_bytes);
    against_reference(c, "parse_1MiB_events_1KiB_lines", &many_lines, true);
}

/// One line far longer than any read, at two sizes: linear cost shows as the same MB/s at both,
/// and the split into 16 KiB reads should cost about what a single read does.
fn huge(c: &mut Criterion) {
    let sizes = Sizes::get();
    let limits = Limits { max_line_bytes: 128 << 20, max_event_bytes: 128 << 20 };
    for size in [sizes.huge_line_bytes / 4, sizes.huge_line_bytes] {
        let fixture = huge_line(size);
        let input = &fixture.bytes[..];
        let mut group = c.benchmark_group(format!("parse_long_line/{}MiB", size >> 20));
        configure(&mut group, 1, input.len());
        group.sampling_mode(SamplingMode::Flat);
        bench_checked(&mut group, "16KiB_reads", fixture.expect, || feedscope(black_box(input), READ, limits));
        bench_checked(&mut group, "one_read", fixture.expect, || feedscope(black_box(input), input.len(), limits));
        group.finish();
    }
}

criterion_group!(benches, small, big, huge);
criterion_main!(benches);
