//! Terminal output: colour only on a terminal and never with `NO_COLOR`, errors on one line.

use std::io::IsTerminal;

/// How to write to one stream: with ANSI colour or without.
///
/// ```
/// let plain = routekit_cli::term::Style::plain();
/// assert_eq!(plain.warning("careful"), "careful");
/// let coloured = routekit_cli::term::Style::coloured();
/// assert_eq!(coloured.warning("careful"), "\u{1b}[33mcareful\u{1b}[0m");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Style {
    colour: bool,
}

impl Style {
    /// Colour when the stream is a terminal and `NO_COLOR` is unset or empty
    /// (<https://no-color.org>).
    pub fn for_stream(stream: &impl IsTerminal) -> Style {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Style {
            colour: stream.is_terminal() && !no_color,
        }
    }

    /// For standard output.
    pub fn stdout() -> Style {
        Style::for_stream(&std::io::stdout())
    }

    /// For standard error.
    pub fn stderr() -> Style {
        Style::for_stream(&std::io::stderr())
    }

    /// Never colour.
    pub fn plain() -> Style {
        Style { colour: false }
    }

    /// Always colour.
    pub fn coloured() -> Style {
        Style { colour: true }
    }

    fn paint(self, code: &str, text: &str) -> String {
        if self.colour {
            format!("\u{1b}[{code}m{text}\u{1b}[0m")
        } else {
            text.to_owned()
        }
    }

    /// Bold: headings.
    pub fn bold(self, text: &str) -> String {
        self.paint("1", text)
    }

    /// Yellow: warnings.
    pub fn warning(self, text: &str) -> String {
        self.paint("33", text)
    }

    /// Red: errors.
    pub fn error(self, text: &str) -> String {
        self.paint("31", text)
    }

    /// Green: success.
    pub fn success(self, text: &str) -> String {
        self.paint("32", text)
    }

    /// Dim: details.
    pub fn dim(self, text: &str) -> String {
        self.paint("2", text)
    }
}

/// Lines of a table: each column as wide as its widest cell, two spaces between columns, no
/// trailing spaces.
///
/// ```
/// let lines = routekit_cli::term::table(
///     &["NAME", "ROLE"],
///     &[vec!["ann".to_owned(), "admin".to_owned()]],
/// );
/// assert_eq!(lines, ["NAME  ROLE", "ann   admin"]);
/// ```
pub fn table(header: &[&str], rows: &[Vec<String>]) -> Vec<String> {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut line = String::new();
        for (cell, width) in cells.zip(&widths) {
            line.push_str(cell);
            let pad = width.saturating_sub(cell.chars().count()) + 2;
            line.extend(std::iter::repeat_n(' ', pad));
        }
        line.trim_end().to_owned()
    };
    std::iter::once(line(&mut header.iter().copied()))
        .chain(
            rows.iter()
                .map(|row| line(&mut row.iter().map(String::as_str))),
        )
        .collect()
}
