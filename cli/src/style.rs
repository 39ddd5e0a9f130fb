//! Terminal styling: colors only on a terminal, never with `NO_COLOR` (no-color.org), forced
//! with `CLICOLOR_FORCE` (bixense.com/clicolors); progress bars only on a terminal.

use std::io::IsTerminal;
use std::sync::OnceLock;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressFinish, ProgressStyle};

/// Whether to color a stream: `NO_COLOR` (non-empty) wins, then `CLICOLOR_FORCE` (non-empty,
/// not `0`), then whether the stream is a terminal.
pub fn colors_enabled(is_terminal: bool, no_color: Option<&str>, force: Option<&str>) -> bool {
    if no_color.is_some_and(|v| !v.is_empty()) {
        return false;
    }
    if force.is_some_and(|v| !v.is_empty() && v != "0") {
        return true;
    }
    is_terminal
}

fn from_env(is_terminal: bool) -> bool {
    let no_color = std::env::var("NO_COLOR").ok();
    let force = std::env::var("CLICOLOR_FORCE").ok();
    colors_enabled(is_terminal, no_color.as_deref(), force.as_deref())
}

/// Whether stderr gets colors.
pub fn stderr_colors() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| from_env(std::io::stderr().is_terminal()))
}

/// Whether stdout gets colors.
pub fn stdout_colors() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| from_env(std::io::stdout().is_terminal()))
}

/// ANSI styles.
#[derive(Debug, Clone, Copy)]
pub enum Style {
    /// Bold red (`error:`).
    Error,
    /// Bold yellow (`hint:`).
    Hint,
    /// Bold (table headers).
    Header,
}

/// `text` in `style` when `on`, else unchanged.
pub fn paint(text: &str, style: Style, on: bool) -> String {
    if !on {
        return text.to_string();
    }
    let code = match style {
        Style::Error => "1;31",
        Style::Hint => "1;33",
        Style::Header => "1",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// Whether progress bars are drawn: stderr is a terminal and not `--quiet`.
pub fn progress_enabled(quiet: bool, stderr_is_terminal: bool) -> bool {
    !quiet && stderr_is_terminal
}

fn bar(quiet: bool, extra_condition: bool) -> ProgressBar {
    if extra_condition && progress_enabled(quiet, std::io::stderr().is_terminal()) {
        ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr())
            .with_finish(ProgressFinish::AndClear)
    } else {
        ProgressBar::hidden()
    }
}

/// A progress bar over `total` bytes (hidden when progress is off).
pub fn bytes_bar(total: u64, quiet: bool) -> ProgressBar {
    let pb = bar(quiet, true);
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] [{wide_bar}] {bytes}/{total_bytes} {msg}",
    ) {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_length(total);
    pb
}

/// A progress bar over `total` rows; drawn only when `extra_condition` also holds.
pub fn rows_bar(total: u64, quiet: bool, extra_condition: bool) -> ProgressBar {
    let pb = bar(quiet, extra_condition);
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} [{elapsed_precise}] [{wide_bar}] {human_pos}/{human_len} rows {msg}",
    ) {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_length(total);
    pb
}

/// A spinner with a message (hidden when progress is off).
pub fn spinner(message: &str, quiet: bool) -> ProgressBar {
    let pb = bar(quiet, true);
    if let Ok(style) = ProgressStyle::with_template("{spinner} [{elapsed_precise}] {msg}") {
        pb.set_style(style);
    }
    pb.set_message(message.to_string());
    if !pb.is_hidden() {
        pb.enable_steady_tick(Duration::from_millis(100));
    }
    pb
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_color_wins_then_force_then_terminal() {
        assert!(colors_enabled(true, None, None));
        assert!(!colors_enabled(false, None, None));
        assert!(!colors_enabled(true, Some("1"), None));
        assert!(!colors_enabled(true, Some("1"), Some("1")));
        // An empty NO_COLOR does not count (no-color.org).
        assert!(colors_enabled(true, Some(""), None));
        assert!(colors_enabled(false, None, Some("1")));
        assert!(!colors_enabled(false, None, Some("0")));
        assert!(!colors_enabled(false, None, Some("")));
    }

    #[test]
    fn paint_wraps_only_when_on() {
        assert_eq!(paint("error:", Style::Error, false), "error:");
        assert_eq!(
            paint("error:", Style::Error, true),
            "\x1b[1;31merror:\x1b[0m"
        );
        assert_eq!(paint("ID", Style::Header, true), "\x1b[1mID\x1b[0m");
    }

    #[test]
    fn progress_only_on_a_terminal_without_quiet() {
        assert!(progress_enabled(false, true));
        assert!(!progress_enabled(true, true));
        assert!(!progress_enabled(false, false));
        // Off-terminal bars are hidden whatever the flags.
        assert!(bytes_bar(10, true).is_hidden());
        assert!(spinner("x", true).is_hidden());
        assert!(rows_bar(10, false, false).is_hidden());
    }
}
