//! Text that goes into a shell command or a batch script (a Slurm
//! `#SBATCH` line): refused when it holds a control character, which no
//! quoting can make safe in a `#SBATCH` line (a newline ends it and the next
//! line runs), and POSIX-quoted otherwise.

use crate::error::{FsError, Result};

/// `text` unchanged if it holds no control character (for a `#SBATCH`
/// value or a comment line); `what` names it in the error.
pub fn check_line<'a>(what: &str, text: &'a str) -> Result<&'a str> {
    if text.chars().any(char::is_control) {
        Err(FsError::ControlCharacter {
            what: what.to_owned(),
            text: text.to_owned(),
        })
    } else {
        Ok(text)
    }
}

/// `word` as one shell word: unchanged when it is made only of characters
/// no shell treats specially, else in single quotes (a `'` inside becomes
/// `'\''`). Refused if it holds a control character.
pub fn quote(word: &str) -> Result<String> {
    check_line("a shell word", word)?;
    Ok(quote_display(word))
}

/// [`quote`] for text that is only shown (a log's command line): nothing is
/// refused, and a control character is written escaped (`\n`), so that the
/// line stays one line.
pub fn quote_display(word: &str) -> String {
    if !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
    {
        word.to_owned()
    } else {
        let escaped: String = word
            .chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect();
        format!("'{}'", escaped.replace('\'', r"'\''"))
    }
}

/// `words` quoted and joined by spaces.
pub fn join(words: &[String]) -> Result<String> {
    Ok(words
        .iter()
        .map(|w| quote(w))
        .collect::<Result<Vec<_>>>()?
        .join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_refuses() {
        assert_eq!(quote("runs/a-1").unwrap(), "runs/a-1");
        assert_eq!(quote("").unwrap(), "''");
        assert_eq!(quote("a b").unwrap(), "'a b'");
        assert_eq!(quote("it's").unwrap(), r"'it'\''s'");
        assert_eq!(quote("$(touch x)").unwrap(), "'$(touch x)'");
        let e = quote("/x\ntouch /tmp/pwned #").unwrap_err();
        assert!(e.to_string().contains("control character"), "{e}");
        assert!(check_line("--partition", "gpu\rx").is_err());
        assert!(check_line("--partition", "gpu\tx").is_err());
        assert_eq!(check_line("--time", "1-00:00:00").unwrap(), "1-00:00:00");
        assert_eq!(quote_display("a\nb"), r"'a\nb'");
        assert_eq!(
            join(&["edas".into(), "--out".into(), "my runs".into()]).unwrap(),
            "edas --out 'my runs'"
        );
    }
}
