//! Putting the token into HTML pages: `<meta name="csrf-token" content="…">` right after
//! `<head>`, where `useCsrfToken()` and plain scripts look for it.

/// The page with the meta tag inserted after the opening `<head>` tag, or `None` when the page
/// already has a `csrf-token` meta tag or has no `<head>` (a fragment). `token` is called only
/// when the tag goes in.
pub(crate) fn inject_meta(html: &[u8], token: impl FnOnce() -> String) -> Option<Vec<u8>> {
    if has_csrf_meta(html) {
        return None;
    }
    let insert_at = head_tag_end(html)?;
    // Tokens are base64url: nothing in them needs escaping in an attribute.
    let meta = format!(r#"<meta name="csrf-token" content="{}">"#, token());
    let mut out = Vec::with_capacity(html.len() + meta.len());
    out.extend_from_slice(&html[..insert_at]);
    out.extend_from_slice(meta.as_bytes());
    out.extend_from_slice(&html[insert_at..]);
    Some(out)
}

/// The index just past the `>` of the first `<head>` or `<head …>` tag (not `<header>`).
fn head_tag_end(html: &[u8]) -> Option<usize> {
    let mut from = 0;
    while let Some(start) = find_ignore_case(&html[from..], b"<head").map(|i| i + from) {
        let after = start + b"<head".len();
        match html.get(after) {
            Some(b'>') => return Some(after + 1),
            Some(c) if c.is_ascii_whitespace() || *c == b'/' => {
                return html[after..]
                    .iter()
                    .position(|&c| c == b'>')
                    .map(|i| after + i + 1);
            }
            _ => from = after,
        }
    }
    None
}

/// Whether some `<meta>` tag is named `csrf-token`, however it is quoted or cased.
fn has_csrf_meta(html: &[u8]) -> bool {
    let mut from = 0;
    while let Some(start) = find_ignore_case(&html[from..], b"<meta").map(|i| i + from) {
        let end = html[start..]
            .iter()
            .position(|&c| c == b'>')
            .map_or(html.len(), |i| start + i);
        let tag = html[start..end].to_ascii_lowercase();
        let tag: Vec<u8> = tag.into_iter().filter(|c| !b"\"' ".contains(c)).collect();
        if find_ignore_case(&tag, b"name=csrf-token").is_some() {
            return true;
        }
        from = end;
    }
    false
}

fn find_ignore_case(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inject(html: &str) -> Option<String> {
        inject_meta(html.as_bytes(), || "TOKEN".to_owned()).map(|b| String::from_utf8(b).unwrap())
    }

    #[test]
    fn meta_goes_right_after_head() {
        assert_eq!(
            inject("<!doctype html><html><head><title>x</title></head><body></body></html>")
                .unwrap(),
            r#"<!doctype html><html><head><meta name="csrf-token" content="TOKEN"><title>x</title></head><body></body></html>"#
        );
        assert_eq!(
            inject(r#"<HTML><HEAD lang="en"><title>x</title>"#).unwrap(),
            r#"<HTML><HEAD lang="en"><meta name="csrf-token" content="TOKEN"><title>x</title>"#
        );
    }

    #[test]
    fn header_elements_are_not_heads() {
        assert_eq!(inject("<body><header>x</header></body>"), None);
        assert!(
            inject("<html><header></header><head></head>")
                .unwrap()
                .contains(r#"<head><meta name="csrf-token""#)
        );
    }

    #[test]
    fn an_existing_meta_tag_is_kept() {
        for page in [
            r#"<head><meta name="csrf-token" content="mine"></head>"#,
            r#"<head><META NAME='csrf-token' CONTENT='mine'></head>"#,
            r#"<head><meta content="mine" name=csrf-token></head>"#,
        ] {
            assert_eq!(inject(page), None, "{page}");
        }
        assert!(inject(r#"<head><meta name="viewport" content="x"></head>"#).is_some());
    }
}
