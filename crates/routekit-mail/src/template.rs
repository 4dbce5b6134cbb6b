//! Mail templates with GoTrue's syntax for variables (`{{ .ConfirmationURL }}`), and nothing
//! else: a template is text and variables, so no template can run code or reach data it was
//! not given.

use std::fmt::Write;

/// A parsed template.
///
/// ```
/// use routekit_mail::Template;
///
/// let template = Template::parse("<a href=\"{{ .ConfirmationURL }}\">Confirm {{.Email}}</a>")?;
/// template.check(&["ConfirmationURL", "Email"])?;
/// let html = template.render_html(&[
///     ("ConfirmationURL", "https://app.example.com/verify?token=a&type=signup"),
///     ("Email", "<ann>@example.com"),
/// ]);
/// assert_eq!(
///     html,
///     "<a href=\"https://app.example.com/verify?token=a&amp;type=signup\">Confirm &lt;ann&gt;@example.com</a>"
/// );
/// # Ok::<(), routekit_mail::TemplateError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Var(String),
}

/// A template that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TemplateError {
    /// `{{` without a closing `}}`.
    #[error("unclosed `{{{{` at byte {at}")]
    Unclosed {
        /// Where the `{{` is.
        at: usize,
    },
    /// Something between `{{` and `}}` other than `.Name`.
    #[error("`{{{{ {action} }}}}` at byte {at}: only variables (`{{{{ .Name }}}}`) are supported")]
    Unsupported {
        /// What was there.
        action: String,
        /// Where.
        at: usize,
    },
    /// A variable this mail does not have.
    #[error("unknown variable `.{name}`; this mail has {known}")]
    UnknownVariable {
        /// The variable.
        name: String,
        /// The ones it has.
        known: String,
    },
}

impl Template {
    /// Parses `source`.
    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = source;
        let mut offset = 0;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(Part::Text(rest[..start].to_owned()));
            }
            let after = &rest[start + 2..];
            let end = after
                .find("}}")
                .ok_or(TemplateError::Unclosed { at: offset + start })?;
            let action = after[..end].trim();
            let name = action
                .strip_prefix('.')
                .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric()))
                .ok_or_else(|| TemplateError::Unsupported {
                    action: action.to_owned(),
                    at: offset + start,
                })?;
            parts.push(Part::Var(name.to_owned()));
            let consumed = start + 2 + end + 2;
            rest = &rest[consumed..];
            offset += consumed;
        }
        if !rest.is_empty() {
            parts.push(Part::Text(rest.to_owned()));
        }
        Ok(Template { parts })
    }

    /// Refuses a template that uses a variable not in `known`, so that a typo in an override
    /// fails at start-up rather than sending a mail with a hole in it.
    pub fn check(&self, known: &[&str]) -> Result<(), TemplateError> {
        for part in &self.parts {
            if let Part::Var(name) = part
                && !known.contains(&name.as_str())
            {
                return Err(TemplateError::UnknownVariable {
                    name: name.clone(),
                    known: known
                        .iter()
                        .map(|k| format!(".{k}"))
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
        }
        Ok(())
    }

    /// The template with every variable replaced by its value, HTML-escaped. A variable with
    /// no value is left empty.
    pub fn render_html(&self, vars: &[(&str, &str)]) -> String {
        self.render(vars, |out, value| out.push_str(&escape_html(value)))
    }

    /// The template with every variable replaced by its value as is, for a text part. Line
    /// breaks in values are turned into spaces, so a value cannot add lines (or headers, in a
    /// subject) of its own.
    pub fn render_text(&self, vars: &[(&str, &str)]) -> String {
        self.render(vars, |out, value| {
            for c in value.chars() {
                out.push(if c == '\r' || c == '\n' { ' ' } else { c });
            }
        })
    }

    fn render(&self, vars: &[(&str, &str)], push: impl Fn(&mut String, &str)) -> String {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(text) => out.push_str(text),
                Part::Var(name) => {
                    if let Some((_, value)) = vars.iter().find(|(k, _)| k == name) {
                        push(&mut out, value);
                    }
                }
            }
        }
        out
    }
}

/// `value` safe inside HTML text and quoted attributes: `& < > " '` become entities.
///
/// ```
/// assert_eq!(routekit_mail::escape_html("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
/// ```
pub fn escape_html(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => {
                let _ = out.write_char(c);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_variables_are_accepted() {
        assert!(matches!(
            Template::parse("{{ if .X }}"),
            Err(TemplateError::Unsupported { .. })
        ));
        assert!(matches!(
            Template::parse("a {{ .X"),
            Err(TemplateError::Unclosed { at: 2 })
        ));
        let t = Template::parse("{{ .Token }}{{ .Nope }}").unwrap();
        assert!(matches!(
            t.check(&["Token"]),
            Err(TemplateError::UnknownVariable { name, .. }) if name == "Nope"
        ));
    }

    #[test]
    fn values_are_escaped_or_kept_on_one_line() {
        let t = Template::parse("Hi {{ .Email }}!").unwrap();
        assert_eq!(
            t.render_html(&[("Email", "<script>'x'</script>")]),
            "Hi &lt;script&gt;&#39;x&#39;&lt;/script&gt;!"
        );
        assert_eq!(
            t.render_text(&[("Email", "a\r\nBcc: evil@example.com")]),
            "Hi a  Bcc: evil@example.com!"
        );
        assert_eq!(t.render_text(&[]), "Hi !");
    }
}
