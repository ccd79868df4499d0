//! Content policy: what an operator may require of a paste's bytes before it is stored.
//!
//! Both rules serve instances that accept only client-side encrypted pastes: a minimum Shannon
//! entropy (random-looking bytes) for content of at least a threshold size, and a requirement
//! that content be unrecognisable binary (neither UTF-8 text nor a known format).

use crate::config::Config;
use crate::error::ApiError;
use crate::mime;

/// Applies the configured content rules.
pub fn check(content: &[u8], config: &Config) -> Result<(), ApiError> {
    if config.min_entropy > 0.0 && content.len() as u64 >= config.min_entropy_size {
        let entropy = shannon_entropy(content);
        if entropy < config.min_entropy {
            return Err(ApiError::EntropyTooLow {
                entropy,
                min_entropy: config.min_entropy,
            });
        }
    }
    if config.require_binary
        && let Some(detected) = recognisable_format(content)
    {
        return Err(ApiError::RecognisableFormat { detected });
    }
    Ok(())
}

/// Shannon entropy of the byte distribution, in bits per byte (0 to 8).
pub fn shannon_entropy(content: &[u8]) -> f64 {
    if content.is_empty() {
        return 0.0;
    }
    let mut counts = [0u64; 256];
    for byte in content {
        counts[usize::from(*byte)] += 1;
    }
    let total = content.len() as f64;
    counts
        .iter()
        .filter(|count| **count > 0)
        .map(|count| {
            let p = *count as f64 / total;
            // p·log2(1/p) rather than -p·log2(p): content of one byte value is 0.0, not -0.0.
            p * (1.0 / p).log2()
        })
        .sum()
}

/// The type content would be recognised as: a known format by its magic bytes, or text.
fn recognisable_format(content: &[u8]) -> Option<String> {
    if let Some(sniffed) = mime::sniff(content) {
        return Some(sniffed.to_owned());
    }
    std::str::from_utf8(content)
        .is_ok()
        .then(|| "text/plain".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_spans_zero_to_eight_bits() {
        assert_eq!(shannon_entropy(b"aaaa").to_string(), "0");
        assert!((shannon_entropy(b"abab") - 1.0).abs() < 1e-9);
        let every_byte: Vec<u8> = (0..=255).collect();
        assert!((shannon_entropy(&every_byte) - 8.0).abs() < 1e-9);
    }

    #[test]
    fn english_is_low_entropy() {
        let text = "The quick brown fox jumps over the lazy dog while the cat sleeps. ".repeat(8);

        let entropy = shannon_entropy(text.as_bytes());

        assert!((3.5..5.0).contains(&entropy), "{entropy}");
    }

    #[test]
    fn text_and_known_formats_are_recognisable_and_noise_is_not() {
        assert_eq!(recognisable_format(b"hello").as_deref(), Some("text/plain"));
        assert_eq!(
            recognisable_format(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").as_deref(),
            Some("image/png")
        );
        assert_eq!(recognisable_format(&[0xff, 0x13, 0xc7, 0x00, 0x9a]), None);
    }
}
