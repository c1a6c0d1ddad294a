//! Reading what a user hands statebench, bounded: every input file is read with a size limit
//! (so `/dev/zero` or a runaway file is an error, not a machine out of memory), text lines are
//! read with a length limit, and error messages quote at most a short excerpt of what was read.
//!
//! The limits (also listed in README.md, "Limits"):
//! - workload files: [`MAX_WORKLOAD_FILE`] (the size a trace can embed);
//! - Flink configuration and profiles files: [`MAX_CONFIG_FILE`];
//! - lines of a CSV op stream: [`MAX_CSV_LINE`];
//! - quoted input in an error: [`EXCERPT_CHARS`] characters.

use std::fs::File;
use std::io::{BufRead, Read};
use std::path::Path;

use anyhow::{bail, Context, Result};

/// Largest workload file, bytes (1 MiB: a trace embeds its workload, up to this size).
pub const MAX_WORKLOAD_FILE: u64 = 1 << 20;
/// Largest Flink configuration file or profiles file, bytes (4 MiB).
pub const MAX_CONFIG_FILE: u64 = 4 << 20;
/// Longest line of a CSV op stream, bytes, line end included (a row of nine numbers fits in
/// about 200).
pub const MAX_CSV_LINE: usize = 1024;
/// Most characters of user input an error message quotes.
pub const EXCERPT_CHARS: usize = 40;

/// Reads the text file at `path` (`what` says what it is, for errors), refusing one larger than
/// `limit` bytes or not UTF-8.
pub fn read_text(path: &Path, limit: u64, what: &str) -> Result<String> {
    let name = path.display();
    let file = File::open(path).with_context(|| format!("cannot read {what} {name}"))?;
    let mut bytes = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {what} {name}"))?;
    if bytes.len() as u64 > limit {
        bail!("{name}: {what} larger than the limit of {limit} bytes");
    }
    String::from_utf8(bytes).map_err(|e| {
        anyhow::anyhow!(
            "{name}: not a {what}: not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        )
    })
}

/// Reads the next line of `input` into `line` (without its line end), refusing one longer than
/// `limit` bytes or not UTF-8; false at the end of input. `position` names the line in errors
/// (e.g. `file, line 7`).
pub fn read_line(
    input: &mut impl BufRead,
    line: &mut String,
    limit: usize,
    position: &dyn Fn() -> String,
) -> Result<bool> {
    let mut bytes = Vec::new();
    let read = input
        .take(limit as u64 + 1)
        .read_until(b'\n', &mut bytes)
        .with_context(|| format!("{}: cannot read", position()))?;
    if read == 0 {
        return Ok(false);
    }
    if bytes.len() > limit {
        bail!(
            "{}: line longer than the limit of {limit} bytes",
            position()
        );
    }
    while matches!(bytes.last(), Some(b'\n' | b'\r')) {
        bytes.pop();
    }
    line.clear();
    line.push_str(
        std::str::from_utf8(&bytes)
            .map_err(|_| anyhow::anyhow!("{}: not UTF-8 text", position()))?,
    );
    Ok(true)
}

/// `text` quoted for an error message: whole if short, else its first [`EXCERPT_CHARS`]
/// characters and the total length.
pub fn excerpt(text: &str) -> String {
    let count = text.chars().count();
    if count <= EXCERPT_CHARS {
        format!("{text:?}")
    } else {
        let head: String = text.chars().take(EXCERPT_CHARS).collect();
        format!("{head:?}... ({count} characters)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_input_is_refused_and_quoted_short() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.json");
        std::fs::write(&path, vec![b'x'; 2048]).unwrap();
        let err = read_text(&path, 1024, "workload file").unwrap_err();
        assert!(err.to_string().contains("limit of 1024 bytes"), "{err}");
        assert_eq!(read_text(&path, 4096, "w").unwrap().len(), 2048);

        let mut input = std::io::Cursor::new(b"short\r\nxxxxxxxxxx\n".to_vec());
        let mut line = String::new();
        let at = || "f, line 1".to_string();
        assert!(read_line(&mut input, &mut line, 8, &at).unwrap());
        assert_eq!(line, "short");
        let err = read_line(&mut input, &mut line, 8, &at).unwrap_err();
        assert!(err.to_string().contains("limit of 8 bytes"), "{err}");

        assert_eq!(excerpt("ab"), "\"ab\"");
        let long = excerpt(&"y".repeat(1000));
        assert!(
            long.len() < 80 && long.ends_with("(1000 characters)"),
            "{long}"
        );
    }
}
