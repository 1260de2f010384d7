//! Lenient base64 for OSS parameters (`text_`, `image_`, `o_`, `b_`): OSS documents URL-safe
//! base64 without padding, older docs kept the padding and the JS SDK sends standard base64, so
//! both alphabets are accepted, with or without `=`.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, Engine, GeneralPurpose, GeneralPurposeConfig};

const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

const CANONICAL: GeneralPurpose =
    GeneralPurpose::new(&alphabet::URL_SAFE, GeneralPurposeConfig::new().with_encode_padding(false));

/// Decodes either alphabet, padded or not. `None` if the text is not base64.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    if text.is_empty() {
        return None;
    }
    // Map the standard alphabet onto the URL-safe one; the two share every other character.
    let mapped: String = text
        .chars()
        .map(|c| match c {
            // A space is a `+` that went through query decoding (`+` means space there).
            '+' | ' ' => '-',
            '/' => '_',
            c => c,
        })
        .collect();
    LENIENT.decode(mapped.as_bytes()).ok()
}

/// Decodes to a UTF-8 string.
pub fn decode_str(text: &str) -> Option<String> {
    decode(text).and_then(|b| String::from_utf8(b).ok())
}

/// The canonical encoding: URL-safe alphabet, no padding (what OSS documents).
pub fn encode(bytes: &[u8]) -> String {
    CANONICAL.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_both_alphabets_with_or_without_padding() {
        // "阿里云" from the OSS watermark docs: text_6Zi_6YeM5LqR.
        assert_eq!(decode_str("6Zi_6YeM5LqR").as_deref(), Some("阿里云"));
        assert_eq!(decode_str("6Zi/6YeM5LqR").as_deref(), Some("阿里云"));
        assert_eq!(decode_str("dGVzdA").as_deref(), Some("test"));
        assert_eq!(decode_str("dGVzdA==").as_deref(), Some("test"));
        assert_eq!(decode_str("dGVzdC5qcGc").as_deref(), Some("test.jpg"));
    }

    #[test]
    fn rejects_non_base64() {
        assert_eq!(decode("not base64!"), None);
        assert_eq!(decode(""), None);
        assert_eq!(decode("a"), None);
    }

    #[test]
    fn round_trips_canonically() {
        let bytes = "panda.png?x-oss-process=image/resize,P_30".as_bytes();
        let enc = encode(bytes);
        assert!(!enc.contains('=') && !enc.contains('+') && !enc.contains('/'));
        assert_eq!(decode(&enc).unwrap(), bytes);
    }
}
