//! What a paste's `Content-Type` is: magic bytes, then the declared type, then UTF-8 or binary.
//!
//! Magic bytes come from the `infer` crate, over the whole content (OLE documents can only be told
//! apart that way). Text is never sniffed: content that reads as text (UTF-8 without control
//! characters beyond tabs, line ends, form feed and escape) keeps the declared type or
//! `text/plain`, so a pasted HTML snippet, a PEM certificate or a sentence that happens to start
//! with `BM` or `GIF` is not taken for a file. Binary formats carry other control bytes (NUL
//! above all), so they are still recognised; `infer`'s own text matchers are never used.

use infer::MatcherType;

/// Declared types that say nothing about the content.
fn is_generic(essence: &str) -> bool {
    matches!(
        essence,
        "application/octet-stream" | "application/x-www-form-urlencoded"
    ) || essence.starts_with("multipart/")
}

/// The type to store for `content`, given the request's `Content-Type` (if it may be used).
pub fn detect(content: &[u8], declared: Option<&str>) -> String {
    if !is_text(content)
        && let Some(sniffed) = sniff(content)
    {
        return sniffed.to_owned();
    }
    if let Some(essence) = declared.and_then(sanitize)
        && !is_generic(&essence)
    {
        return essence;
    }
    if std::str::from_utf8(content).is_ok() {
        "text/plain".to_owned()
    } else {
        "application/octet-stream".to_owned()
    }
}

/// Whether the content reads as text a person would paste.
pub fn is_text(content: &[u8]) -> bool {
    std::str::from_utf8(content).is_ok_and(|text| {
        !text
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r' | '\x0c' | '\x1b'))
    })
}

/// A binary format recognised by its magic bytes.
pub fn sniff(content: &[u8]) -> Option<&'static str> {
    infer::get(content)
        .filter(|kind| kind.matcher_type() != MatcherType::Text)
        .map(|kind| kind.mime_type())
}

/// A declared type reduced to a lowercase `type/subtype` of RFC 6838 name characters, without
/// parameters; anything else is discarded rather than stored and echoed back.
pub fn sanitize(declared: &str) -> Option<String> {
    let essence = declared.split(';').next()?.trim().to_ascii_lowercase();
    let (kind, subtype) = essence.split_once('/')?;
    let valid = |part: &str| {
        (1..=127).contains(&part.len())
            && part.starts_with(|c: char| c.is_ascii_alphanumeric())
            && part
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "!#$&-^_.+".contains(c))
    };
    (valid(kind) && valid(subtype)).then_some(essence)
}

/// The `Content-Type` header value for a stored type: text is served as UTF-8.
pub fn content_type_header(mime: &str) -> String {
    if mime.starts_with("text/") {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_owned()
    }
}

/// `inline` for images and text a browser will only display; `attachment` for everything else,
/// and for the types a browser would run as a page of this site.
pub fn disposition(mime: &str) -> &'static str {
    const ACTIVE: [&str; 5] = [
        "text/html",
        "application/xhtml+xml",
        "image/svg+xml",
        "text/xml",
        "application/xml",
    ];
    let displayable = mime.starts_with("image/") || mime.starts_with("text/");
    if displayable && !ACTIVE.contains(&mime) {
        "inline"
    } else {
        "attachment"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_bytes_win_over_the_declared_type() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

        assert_eq!(detect(png, Some("text/plain")), "image/png");
    }

    #[test]
    fn text_is_never_sniffed() {
        let texts: [&[u8]; 8] = [
            b"<html><body>hi</body></html>",
            b"<?xml version=\"1.0\"?><a/>",
            b"BMW is a car",
            b"GIF is pronounced jif",
            b"SQLite is fine",
            b"see %PDF in the header",
            b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
            b"\x1b[1mbold terminal output\x1b[0m\r\n",
        ];
        for text in texts {
            assert_eq!(
                detect(text, None),
                "text/plain",
                "{}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn binary_content_that_happens_to_be_utf8_is_still_sniffed() {
        assert_eq!(detect(b"\0asm\x01\0\0\0", None), "application/wasm");
    }

    #[test]
    fn a_specific_declared_type_is_kept_without_parameters() {
        assert_eq!(
            detect(b"{}", Some("Application/JSON; charset=utf-8")),
            "application/json"
        );
    }

    #[test]
    fn generic_declared_types_fall_through() {
        assert_eq!(
            detect(b"hello", Some("application/octet-stream")),
            "text/plain"
        );
        assert_eq!(
            detect(b"hello", Some("application/x-www-form-urlencoded")),
            "text/plain"
        );
        assert_eq!(
            detect(&[0xff, 0xfe, 0x00], None),
            "application/octet-stream"
        );
    }

    #[test]
    fn hostile_declared_types_are_discarded() {
        assert_eq!(sanitize("text/plain\r\nX-Evil: 1"), None);
        assert_eq!(sanitize("text/<script>"), None);
        assert_eq!(sanitize("nonsense"), None);
        assert_eq!(detect(b"hi", Some("text/<b>")), "text/plain");
    }

    #[test]
    fn active_types_are_downloaded_not_rendered() {
        assert_eq!(disposition("text/html"), "attachment");
        assert_eq!(disposition("image/svg+xml"), "attachment");
        assert_eq!(disposition("image/png"), "inline");
        assert_eq!(disposition("text/plain"), "inline");
        assert_eq!(disposition("application/pdf"), "attachment");
    }
}
