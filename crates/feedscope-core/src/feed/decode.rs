//! A response body's `Content-Encoding`, undone as a browser undoes it: gzip and deflate are
//! decoded read by read, so the bytes of an event leave the decoder in the read that completed it.
//! Also the name of the response's HTTP version, as the `open` record carries it.

use std::borrow::Cow;
use std::io::{self, Write};

use flate2::write::{DeflateDecoder, MultiGzDecoder, ZlibDecoder};

/// Decodes one response body. Push each read into [`BodyDecoder::decode`]; what it returns is
/// everything that read made decodable (the decoder holds no decoded bytes back).
pub(super) enum BodyDecoder {
    /// No encoding, `identity`, or one the engine does not decode (it is passed on as it came;
    /// the `compression` diagnostic names it).
    Identity,
    Gzip(Box<MultiGzDecoder<Vec<u8>>>),
    /// `deflate` before its first two bytes have arrived: servers send it zlib-wrapped (as
    /// RFC 9110 says) or raw, and browsers take both, so the first bytes decide.
    DeflateStart(Vec<u8>),
    Zlib(Box<ZlibDecoder<Vec<u8>>>),
    RawDeflate(Box<DeflateDecoder<Vec<u8>>>),
}

impl BodyDecoder {
    /// The decoder for a response's `Content-Encoding` header, if any.
    pub(super) fn new(content_encoding: Option<&str>) -> BodyDecoder {
        match content_encoding.map(|e| e.trim().to_ascii_lowercase()).as_deref() {
            Some("gzip" | "x-gzip") => BodyDecoder::Gzip(Box::new(MultiGzDecoder::new(Vec::new()))),
            Some("deflate") => BodyDecoder::DeflateStart(Vec::new()),
            _ => BodyDecoder::Identity,
        }
    }

    /// The name of the encoding being undone, for messages.
    pub(super) fn name(&self) -> &'static str {
        match self {
            BodyDecoder::Identity => "identity",
            BodyDecoder::Gzip(_) => "gzip",
            BodyDecoder::DeflateStart(_) | BodyDecoder::Zlib(_) | BodyDecoder::RawDeflate(_) => "deflate",
        }
    }

    /// The decoded bytes of one read of the body (often none, while a header or a block is
    /// incomplete). An error means the body is not valid in its encoding.
    pub(super) fn decode<'a>(&mut self, chunk: &'a [u8]) -> io::Result<Cow<'a, [u8]>> {
        if let BodyDecoder::DeflateStart(head) = self {
            head.extend_from_slice(chunk);
            if head.len() < 2 {
                return Ok(Cow::Borrowed(&[]));
            }
            let head = std::mem::take(head);
            // A zlib header: compression method 8, a window of at most 32 KiB, and a check
            // value that makes the first two bytes a multiple of 31 (RFC 1950).
            let zlib = head[0] & 0x0f == 8 && head[0] >> 4 <= 7 && u16::from_be_bytes([head[0], head[1]]) % 31 == 0;
            *self = if zlib {
                BodyDecoder::Zlib(Box::new(ZlibDecoder::new(Vec::new())))
            } else {
                BodyDecoder::RawDeflate(Box::new(DeflateDecoder::new(Vec::new())))
            };
            return self.decode(&head).map(|b| Cow::Owned(b.into_owned()));
        }
        let out = match self {
            BodyDecoder::Identity => return Ok(Cow::Borrowed(chunk)),
            BodyDecoder::DeflateStart(_) => unreachable!("decided above"),
            BodyDecoder::Gzip(d) => push(d.as_mut(), chunk)?,
            BodyDecoder::Zlib(d) => push(d.as_mut(), chunk)?,
            BodyDecoder::RawDeflate(d) => push(d.as_mut(), chunk)?,
        };
        Ok(Cow::Owned(out))
    }
}

/// The decoders write into a `Vec`; a flush after each read makes them hand over all they can.
trait Inner: Write {
    fn output(&mut self) -> &mut Vec<u8>;
}

impl Inner for MultiGzDecoder<Vec<u8>> {
    fn output(&mut self) -> &mut Vec<u8> {
        self.get_mut()
    }
}

impl Inner for ZlibDecoder<Vec<u8>> {
    fn output(&mut self) -> &mut Vec<u8> {
        self.get_mut()
    }
}

impl Inner for DeflateDecoder<Vec<u8>> {
    fn output(&mut self) -> &mut Vec<u8> {
        self.get_mut()
    }
}

fn push(d: &mut impl Inner, chunk: &[u8]) -> io::Result<Vec<u8>> {
    d.write_all(chunk)?;
    d.flush()?;
    Ok(std::mem::take(d.output()))
}

/// `HTTP/1.1`, `HTTP/2`: the protocol of a response, as the `open` record writes it.
pub(super) fn http_version(v: reqwest::Version) -> &'static str {
    if v == reqwest::Version::HTTP_09 {
        "HTTP/0.9"
    } else if v == reqwest::Version::HTTP_10 {
        "HTTP/1.0"
    } else if v == reqwest::Version::HTTP_11 {
        "HTTP/1.1"
    } else if v == reqwest::Version::HTTP_2 {
        "HTTP/2"
    } else if v == reqwest::Version::HTTP_3 {
        "HTTP/3"
    } else {
        "HTTP"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::{DeflateEncoder, GzEncoder, ZlibEncoder};
    use flate2::Compression;

    const TEXT: &[u8] = b"id: 1\ndata: one\n\nid: 2\ndata: two\n\n";

    /// Decodes `encoded` in reads of `n` bytes.
    fn decode_in_reads(encoding: &str, encoded: &[u8], n: usize) -> Vec<u8> {
        let mut d = BodyDecoder::new(Some(encoding));
        let mut out = Vec::new();
        for read in encoded.chunks(n) {
            out.extend_from_slice(&d.decode(read).expect("valid body"));
        }
        out
    }

    #[test]
    fn gzip_zlib_and_raw_deflate_decode_whatever_the_reads() {
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        gz.write_all(TEXT).unwrap();
        let gz = gz.finish().unwrap();
        let mut zl = ZlibEncoder::new(Vec::new(), Compression::default());
        zl.write_all(TEXT).unwrap();
        let zl = zl.finish().unwrap();
        let mut raw = DeflateEncoder::new(Vec::new(), Compression::default());
        raw.write_all(TEXT).unwrap();
        let raw = raw.finish().unwrap();
        for n in [1, 2, 3, 7, 1000] {
            assert_eq!(decode_in_reads("gzip", &gz, n), TEXT, "gzip in reads of {n}");
            assert_eq!(decode_in_reads("X-Gzip", &gz, n), TEXT, "x-gzip in reads of {n}");
            assert_eq!(decode_in_reads("deflate", &zl, n), TEXT, "zlib in reads of {n}");
            assert_eq!(decode_in_reads("deflate", &raw, n), TEXT, "raw deflate in reads of {n}");
        }
    }

    #[test]
    fn a_flushed_event_leaves_the_decoder_in_its_read() {
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        let mut d = BodyDecoder::new(Some("gzip"));
        for event in [&b"data: a\n\n"[..], b"data: b\n\n"] {
            gz.write_all(event).unwrap();
            gz.flush().unwrap();
            let sent = std::mem::take(gz.get_mut());
            assert_eq!(&*d.decode(&sent).unwrap(), event);
        }
    }

    #[test]
    fn identity_and_unknown_encodings_pass_through() {
        for e in [None, Some("identity"), Some("br")] {
            let mut d = BodyDecoder::new(e);
            assert!(matches!(d.decode(TEXT).unwrap(), Cow::Borrowed(b) if b == TEXT), "{e:?}");
        }
    }

    #[test]
    fn a_corrupt_body_is_an_error() {
        let mut d = BodyDecoder::new(Some("gzip"));
        assert!(d.decode(b"definitely not gzip at all").is_err());
    }
}
