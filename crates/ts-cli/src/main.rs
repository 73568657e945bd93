//! `tsf`: train, evaluate and predict with LSTM forecasters from the command line.
//!
//! This binary only composes the library crates (ts-data, ts-train, ts-tune, ts-fairness,
//! ts-explain, ts-viz): each command parses flags, calls the library and writes its typed outputs.
//! Every error is printed on one line and exits with status 2.

/// `print!` to standard output; text that cannot be written (a closed pipe: `tsf train … | head`)
/// is dropped rather than stopping the command, which goes on and writes its files.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::write_stdout(format_args!($($arg)*))
    };
}

/// [`out!`] with a newline.
macro_rules! outln {
    () => {
        $crate::write_stdout(format_args!("\n"))
    };
    ($($arg:tt)*) => {
        $crate::write_stdout(format_args!("{}\n", format_args!($($arg)*)))
    };
}

mod args;
mod backtest;
mod commands;
mod explain;
mod fairness;
mod tune;

use std::io::IsTerminal;

use clap::Parser;

/// A command-line error as one `error:` line (clap's first line and its tips), exit code 2;
/// help and version are printed as clap prints them.
fn parse_args() -> args::Cli {
    match args::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                e.exit();
            }
            // clap's text: the message (with, e.g., the missing arguments on the next lines),
            // a blank line, tips, usage. Keep the message and the tips, on one line.
            let text = e.to_string();
            let paragraphs: Vec<String> = text
                .split("\n\n")
                .map(|p| {
                    p.lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .filter(|p| !p.is_empty())
                .collect();
            let first = paragraphs
                .first()
                .map_or("invalid arguments", String::as_str);
            let first = first.strip_prefix("error: ").unwrap_or(first);
            let tips: Vec<&str> = paragraphs
                .iter()
                .filter(|p| p.starts_with("tip:"))
                .map(String::as_str)
                .collect();
            if tips.is_empty() {
                eprintln!("error: {first}");
            } else {
                eprintln!("error: {first} ({})", tips.join("; "));
            }
            std::process::exit(2);
        }
    }
}

/// The first error writing to standard output other than a closed pipe (a full disk), reported
/// once the command has written its files.
static STDOUT_ERROR: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Writes to standard output. A reader that went away (a closed pipe: `tsf train | head`) is
/// ignored: what the commands print summarises what they write to files, and it must not cost
/// the run. Any other error (a full disk) is kept and turns the exit status into 2 at the end.
fn write_stdout(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let result = out.write_fmt(args).and_then(|()| out.flush());
    if let Err(e) = result
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        let _ = STDOUT_ERROR.set(e.to_string());
    }
}

fn main() {
    let cli = parse_args();
    let filter = if cli.verbose { "info" } else { "warn" };
    // Colour codes only on a terminal (and not with NO_COLOR): logs may go to a file or a pipe.
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let _ = tracing_subscriber::fmt()
        .with_ansi(ansi)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(filter)),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let result = match cli.command {
        args::Command::Train(a) => commands::train(*a),
        args::Command::Evaluate(a) => commands::evaluate(a),
        args::Command::Predict(a) => commands::predict(a),
        args::Command::Backtest(a) => backtest::backtest(*a),
        args::Command::Groups(a) => fairness::groups(a),
        args::Command::Fairness(a) => fairness::fairness(*a),
        args::Command::Explain(a) => explain::explain(*a),
        args::Command::Tune(a) => tune::tune(*a),
    };
    if let Err(e) = result {
        let msg = format!("{e:#}").replace('\n', " ");
        eprintln!("error: {msg}");
        std::process::exit(2);
    }
    if let Some(e) = STDOUT_ERROR.get() {
        eprintln!("error: standard output: {e} (the command's files were written)");
        std::process::exit(2);
    }
}
