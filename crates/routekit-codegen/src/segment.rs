//! Folder names to URL segments, following the Next.js App Router conventions.

use std::fmt;

/// What one folder under `app/` means for the URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// A literal segment: `about` matches `/about`.
    Static(String),
    /// `[id]`: exactly one segment, captured as `id`.
    Dynamic(String),
    /// `[...slug]`: one or more segments.
    CatchAll(String),
    /// `[[...slug]]`: zero or more segments.
    OptionalCatchAll(String),
    /// `(group)`: organises files, left out of the URL.
    Group(String),
    /// `_private`: the folder and everything under it is not routed.
    Private,
}

impl Segment {
    /// Parses one folder name, or says why it cannot be mapped (the text is a hint).
    ///
    /// ```
    /// use routekit_codegen::Segment;
    /// assert_eq!(Segment::parse("[id]"), Ok(Segment::Dynamic("id".into())));
    /// assert_eq!(Segment::parse("%5Fnext"), Ok(Segment::Static("_next".into())));
    /// assert!(Segment::parse("[user-id]").is_err());
    /// ```
    pub fn parse(name: &str) -> Result<Segment, String> {
        if let Some(inner) = name.strip_prefix("[[").and_then(|n| n.strip_suffix("]]")) {
            return match inner.strip_prefix("...") {
                Some(param) => param_name(param, name).map(Segment::OptionalCatchAll),
                None => Err(format!(
                    "`{name}`: only catch-all segments can be optional; use `[[...{inner}]]` or `[{inner}]`"
                )),
            };
        }
        if let Some(inner) = name.strip_prefix('[').and_then(|n| n.strip_suffix(']')) {
            return match inner.strip_prefix("...") {
                Some(param) => param_name(param, name).map(Segment::CatchAll),
                None => param_name(inner, name).map(Segment::Dynamic),
            };
        }
        if name.starts_with("(.") {
            return Err(format!(
                "`{name}`: intercepting routes are a Next.js page feature and do not apply to route handlers"
            ));
        }
        if let Some(inner) = name.strip_prefix('(').and_then(|n| n.strip_suffix(')')) {
            if inner.is_empty() || !inner.chars().all(is_static_char) {
                return Err(format!(
                    "`{name}`: a route group is `(name)` with letters, digits, `-`, `_` or `.`"
                ));
            }
            return Ok(Segment::Group(inner.to_owned()));
        }
        if name.starts_with('_') {
            return Ok(Segment::Private);
        }
        if name.starts_with('@') {
            return Err(format!(
                "`{name}`: parallel routes (`@slot`) are a Next.js page feature and do not apply to route handlers"
            ));
        }
        let literal = match name.get(..3) {
            Some(prefix) if prefix.eq_ignore_ascii_case("%5F") => format!("_{}", &name[3..]),
            _ => name.to_owned(),
        };
        if literal.is_empty() || !literal.chars().all(is_static_char) {
            return Err(format!(
                "`{name}` cannot be a URL segment; folder names may use letters, digits and `-._~!$&'*+,;=:@` \
                 (write `%5F` for a leading `_`)"
            ));
        }
        Ok(Segment::Static(literal))
    }

    /// The parameter this segment captures, if any.
    pub fn param(&self) -> Option<&str> {
        match self {
            Segment::Dynamic(p) | Segment::CatchAll(p) | Segment::OptionalCatchAll(p) => Some(p),
            _ => None,
        }
    }
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Segment::Static(s) => f.write_str(s),
            Segment::Dynamic(p) => write!(f, "[{p}]"),
            Segment::CatchAll(p) => write!(f, "[...{p}]"),
            Segment::OptionalCatchAll(p) => write!(f, "[[...{p}]]"),
            Segment::Group(g) => write!(f, "({g})"),
            Segment::Private => f.write_str("_"),
        }
    }
}

/// Characters a static folder name may use: RFC 3986 `pchar` without `%` (no encoding games),
/// and without `(`/`)` so that groups stay unambiguous.
fn is_static_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-._~!$&'*+,;=:@".contains(c)
}

/// Parameter names become Rust field names in `Path` structs, so they must be identifiers.
fn param_name(param: &str, folder: &str) -> Result<String, String> {
    let mut chars = param.chars();
    let valid = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if valid {
        Ok(param.to_owned())
    } else {
        let suggestion: String = param
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
            .collect();
        Err(format!(
            "`{folder}`: a parameter name must be a Rust identifier, e.g. `{}`",
            folder.replace(
                param,
                if suggestion.is_empty() {
                    "id"
                } else {
                    &suggestion
                }
            )
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_convention_parses() {
        assert_eq!(Segment::parse("users"), Ok(Segment::Static("users".into())));
        assert_eq!(Segment::parse("[id]"), Ok(Segment::Dynamic("id".into())));
        assert_eq!(
            Segment::parse("[...slug]"),
            Ok(Segment::CatchAll("slug".into()))
        );
        assert_eq!(
            Segment::parse("[[...slug]]"),
            Ok(Segment::OptionalCatchAll("slug".into()))
        );
        assert_eq!(Segment::parse("(shop)"), Ok(Segment::Group("shop".into())));
        assert_eq!(Segment::parse("_lib"), Ok(Segment::Private));
        assert_eq!(Segment::parse("%5flib"), Ok(Segment::Static("_lib".into())));
        assert_eq!(Segment::parse("v1.2"), Ok(Segment::Static("v1.2".into())));
    }

    #[test]
    fn unmappable_names_are_rejected_with_a_hint() {
        for bad in [
            "[]",
            "[...]",
            "[[id]]",
            "[a b]",
            "[1d]",
            "a b",
            "{x}",
            "caf\u{e9}",
            "@modal",
            "(.)photo",
            "()",
            "a%20b",
            "[id",
            "x]",
        ] {
            assert!(Segment::parse(bad).is_err(), "{bad} should be rejected");
        }
        let hint = Segment::parse("[user-id]").unwrap_err();
        assert!(hint.contains("[user_id]"), "{hint}");
    }
}
