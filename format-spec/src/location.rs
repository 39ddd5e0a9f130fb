//! Where a data file's bytes are (SPEC §2.3, §6.2): the object key of a logical path, and the
//! URI text of a location.
//!
//! A logical path is the object key suffix **verbatim**: `data/region=eu%20west/x.parquet` is
//! stored under the key `<root>/data/region=eu%20west/x.parquet` (a `%` in the key, not a
//! space), on every store, and on a file system under that file name. A `location` is URI
//! text, so the path in it is percent-encoded once ([`location_uri`]): the same file in a tier
//! at `s3://archive/t` has the location `s3://archive/t/data/region=eu%2520west/x.parquet`, and
//! a reader percent-decodes the URI path once ([`decode_uri_path`]) to get the key back.

/// Appends `segment` with every byte outside `A–Z a–z 0–9 - _ . ~ =` percent-encoded (`%XX`,
/// uppercase hexadecimal).
fn push_encoded(out: &mut String, segment: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in segment.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'=') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
}

/// The URI text of a logical path (or any `/`-separated key): each segment percent-encoded,
/// the `/` between segments kept.
pub fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len() + 8);
    for (i, segment) in path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        push_encoded(&mut out, segment);
    }
    out
}

/// The location of `path` under `base`, an absolute URI without a trailing `/` (a tier
/// location or the table root): `base/` followed by the path's URI text (SPEC §6.2).
pub fn location_uri(base: &str, path: &str) -> String {
    format!("{base}/{}", encode_path(path))
}

/// Percent-decodes the path of a URI once, giving the object key (or, for `file://`, the file
/// system path). Fails on a `%` not followed by two hexadecimal digits and on bytes that are
/// not UTF-8.
pub fn decode_uri_path(path: &str) -> Result<String, String> {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| {
                    format!("`{path}`: `%` at byte {i} is not followed by two hex digits")
                })?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("`{path}` does not decode to UTF-8"))
}

/// An absolute URI as its lower-cased scheme with its authority (`s3://bucket`, `file://`) and
/// its key: the path percent-decoded once, without empty segments. A `.` or `..` segment (in
/// any spelling, decoded), a query or a fragment is an error: such a URI does not name one key.
pub fn split_uri(uri: &str) -> Result<(String, String), String> {
    let (scheme, rest) = uri
        .split_once("://")
        .ok_or_else(|| format!("`{uri}` is not an absolute URI (scheme://...)"))?;
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    {
        return Err(format!("`{uri}` has an invalid scheme"));
    }
    if rest.contains(['?', '#']) {
        return Err(format!("`{uri}` has a query or fragment"));
    }
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let decoded = decode_uri_path(path)?;
    let mut segments = Vec::new();
    for seg in decoded.split('/').filter(|s| !s.is_empty()) {
        if seg == "." || seg == ".." || seg.contains('\\') {
            return Err(format!("`{uri}` has a `{seg}` segment"));
        }
        segments.push(seg);
    }
    Ok((
        format!(
            "{}://{}",
            scheme.to_ascii_lowercase(),
            authority.to_ascii_lowercase()
        ),
        segments.join("/"),
    ))
}

/// Whether `uri` names a key strictly below `base` (same scheme and authority, key under the
/// base key followed by `/`), both compared as decoded keys ([`split_uri`]).
pub fn is_within(base: &str, uri: &str) -> Result<bool, String> {
    let (base_auth, base_key) = split_uri(base)?;
    let (auth, key) = split_uri(uri)?;
    Ok(base_auth == auth
        && !key.is_empty()
        && (base_key.is_empty()
            || key
                .strip_prefix(base_key.as_str())
                .is_some_and(|r| r.starts_with('/'))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_round_trips_through_its_uri_text() {
        for path in [
            "data/region=eu%20west/a.parquet",
            "data/k=a b/c#d?e/f.parquet",
            "data/v=é/100%/x",
            "data/region=/x.parquet",
            "data/a~b_c-d.e=f/x",
        ] {
            let uri = location_uri("s3://bucket/t", path);
            let key = decode_uri_path(uri.strip_prefix("s3://bucket/").unwrap()).unwrap();
            assert_eq!(key, format!("t/{path}"), "{uri}");
        }
        assert_eq!(
            location_uri("file:///cold", "data/region=eu%20west/a b.parquet"),
            "file:///cold/data/region=eu%2520west/a%20b.parquet"
        );
        assert_eq!(encode_path("data/x=1/é"), "data/x=1/%C3%A9");
    }

    #[test]
    fn bad_escapes_are_errors() {
        assert!(
            decode_uri_path("a/%2")
                .unwrap_err()
                .contains("two hex digits")
        );
        assert!(decode_uri_path("a/%zz").is_err());
        assert!(decode_uri_path("a/%FF").unwrap_err().contains("UTF-8"));
        assert_eq!(decode_uri_path("a/%2Fb").unwrap(), "a//b");
    }
    #[test]
    fn containment_compares_decoded_keys() {
        assert!(is_within("s3://b/wh/t", "s3://b/wh/t/data/x.parquet").unwrap());
        assert!(is_within("s3://B/wh/t", "S3://b/wh/%74/data/x").unwrap());
        assert!(!is_within("s3://b/wh/t", "s3://b/wh/t2/x").unwrap());
        assert!(!is_within("s3://b/wh/t", "s3://b/wh/t").unwrap());
        assert!(!is_within("s3://b/wh/t", "s3://c/wh/t/x").unwrap());
        assert!(!is_within("file:///wh/t", "s3:///wh/t/x").unwrap());
        for bad in [
            "s3://b/wh/t/../u/x",
            "s3://b/wh/t/%2e%2E/u/x",
            "s3://b/wh/t/./x",
            "s3://b/wh/t/x?y",
            "wh/t/x",
        ] {
            assert!(is_within("s3://b/wh/t", bad).is_err(), "{bad}");
        }
        assert_eq!(
            split_uri("file:///wh//t/").unwrap(),
            ("file://".to_string(), "wh/t".to_string())
        );
    }
}
