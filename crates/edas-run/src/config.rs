//! TOML configs with `--set key=value` overrides and errors that name the
//! file and the dotted key.
//!
//! A config is read as a TOML table, each override replaces (or adds) one
//! dotted key, and the result is deserialised into the typed config with the
//! path of the failing key kept: `configs/search/x.toml: key `edas.tau`:
//! invalid type: string "hot", expected f64`. Unknown keys are errors (the
//! config types deny them), so a typo never silently keeps a default.

use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Result, RunError, io};

/// A parsed config with the table it came from (after overrides).
#[derive(Clone, Debug)]
pub struct Loaded<T> {
    /// The typed config.
    pub config: T,
    /// Where it came from, for messages.
    pub origin: String,
}

fn config_error(file: &str, key: &str, message: impl Into<String>) -> RunError {
    RunError::Config {
        file: file.to_owned(),
        key: key.to_owned(),
        message: message.into(),
    }
}

/// Parses `value` of a `--set` as a TOML value (`3`, `0.1`, `true`,
/// `"text"`, `[1, 2]`); anything that is not TOML is taken as a string, so
/// `--set data.dataset=cifar10` works without quotes.
pub fn parse_override_value(value: &str) -> toml::Value {
    let doc = format!("v = {value}");
    match doc.parse::<toml::Table>() {
        Ok(mut t) => t
            .remove("v")
            .unwrap_or_else(|| toml::Value::String(value.to_owned())),
        Err(_) => toml::Value::String(value.to_owned()),
    }
}

/// Applies `key=value` to `table`, creating intermediate tables.
pub fn apply_override(table: &mut toml::Table, assignment: &str) -> Result<()> {
    let Some((key, value)) = assignment.split_once('=') else {
        return Err(config_error(
            "--set",
            assignment,
            "expected KEY=VALUE (for example --set edas.tau=0.5)",
        ));
    };
    let key = key.trim();
    let parts: Vec<&str> = key.split('.').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(config_error(
            &format!("--set {assignment}"),
            "",
            "the key is empty or has an empty segment (expected KEY=VALUE, for example \
             --set edas.tau=0.5)",
        ));
    }
    let mut current = table;
    for (i, part) in parts.iter().enumerate() {
        if i + 1 == parts.len() {
            current.insert((*part).to_owned(), parse_override_value(value.trim()));
            break;
        }
        let entry = current
            .entry((*part).to_owned())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        current = match entry {
            toml::Value::Table(t) => t,
            _ => {
                return Err(config_error(
                    "--set",
                    &parts[..=i].join("."),
                    "is not a table, so it has no sub-keys",
                ));
            }
        };
    }
    Ok(())
}

/// Deserialises `table` into `T`, naming the failing key.
pub fn from_table<T: DeserializeOwned>(table: toml::Table, origin: &str) -> Result<T> {
    let value = toml::Value::Table(table);
    serde_path_to_error::deserialize(value).map_err(|e| {
        let key = e.path().to_string();
        let key = if key == "." { String::new() } else { key };
        config_error(origin, &key, e.into_inner().to_string())
    })
}

/// Reads the TOML file `path`, applies `overrides` (`key=value`) and
/// deserialises the result.
pub fn load<T: DeserializeOwned>(path: &Path, overrides: &[String]) -> Result<Loaded<T>> {
    let text = edas_genotype::read::read_text(path).map_err(io(path))?;
    load_text(&text, &path.display().to_string(), overrides)
}

/// [`load`] for a config given as text (a config shipped inside the
/// binary); `origin` names it in errors.
pub fn load_text<T: DeserializeOwned>(
    text: &str,
    origin: &str,
    overrides: &[String],
) -> Result<Loaded<T>> {
    let origin = origin.to_owned();
    let mut table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        config_error(&origin, "", e.to_string().trim_end().to_owned())
    })?;
    for o in overrides {
        apply_override(&mut table, o)?;
    }
    let origin = if overrides.is_empty() {
        origin
    } else {
        format!("{origin} (with --set {})", overrides.join(" --set "))
    };
    Ok(Loaded {
        config: from_table(table, &origin)?,
        origin,
    })
}

/// The config as TOML text (what a run directory stores as `config.toml`).
pub fn to_toml<T: Serialize>(config: &T) -> Result<String> {
    toml::to_string_pretty(config).map_err(|e| config_error("config", "", e.to_string()))
}

/// A range or consistency check that failed; `key` is the dotted key.
pub fn invalid(origin: &str, key: &str, message: impl Into<String>) -> RunError {
    config_error(origin, key, message)
}

/// Checks a config's `name`, which names its run directory under `runs/`:
/// one path component of ASCII letters, digits, `.`, `_` and `-`, not `.`
/// or `..`, so that a run never writes outside `runs/`.
pub fn check_run_name(origin: &str, name: &str) -> Result<()> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
    let why = if name.is_empty() {
        Some("must not be empty".to_owned())
    } else if name == "." || name == ".." {
        Some(format!("`{name}` is not a run name"))
    } else {
        name.chars().find(|&c| !allowed(c)).map(|c| {
            format!(
                "`{name}` holds {c:?}; use letters, digits, `.`, `_` and `-` (it names a folder under runs/)"
            )
        })
    };
    why.map_or(Ok(()), |message| Err(invalid(origin, "name", message)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[test]
    fn run_names_stay_one_folder_under_runs() {
        for ok in ["cifar10-edas", "a.b_c-1", "x", "..x"] {
            assert!(check_run_name("c.toml", ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "../../escape",
            "/abs",
            "a/b",
            "a\\b",
            "sp ace",
            "é",
        ] {
            let e = check_run_name("c.toml", bad)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(e.contains("name"), "{bad}: {e}");
        }
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Inner {
        tau: f64,
        #[serde(default)]
        gumbel: bool,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Outer {
        name: String,
        epochs: usize,
        edas: Inner,
    }

    fn table(s: &str) -> toml::Table {
        s.parse().unwrap()
    }

    #[test]
    fn overrides_replace_and_add_keys() {
        let mut t = table("name = 'a'\nepochs = 3\n[edas]\ntau = 1.0\n");
        apply_override(&mut t, "epochs=7").unwrap();
        apply_override(&mut t, "edas.gumbel=true").unwrap();
        apply_override(&mut t, "name=fashion").unwrap();
        let c: Outer = from_table(t, "x.toml").unwrap();
        assert_eq!(
            c,
            Outer {
                name: "fashion".into(),
                epochs: 7,
                edas: Inner {
                    tau: 1.0,
                    gumbel: true
                }
            }
        );
    }

    #[test]
    fn an_empty_override_key_is_named_by_its_assignment() {
        let mut t = table("epochs = 3\n");
        for bad in ["=3", "a..b=3", ".a=1"] {
            let e = apply_override(&mut t, bad).unwrap_err().to_string();
            assert!(
                e.starts_with(&format!("--set {bad}: the key is empty")) && !e.contains("key ``"),
                "{e}"
            );
        }
    }

    #[test]
    fn errors_name_the_key() {
        let t = table("name = 'a'\nepochs = 3\n[edas]\ntau = 'hot'\n");
        let e = from_table::<Outer>(t, "x.toml").unwrap_err().to_string();
        assert!(e.starts_with("x.toml: key `edas.tau`: invalid type"), "{e}");
        let t = table("name = 'a'\nepochs = 3\n[edas]\ntau = 1.0\ntua = 2.0\n");
        let e = from_table::<Outer>(t, "x.toml").unwrap_err().to_string();
        assert!(
            e.contains("`edas.tua`") || e.contains("unknown field `tua`"),
            "{e}"
        );
        let t = table("name = 'a'\nepochs = -3\n[edas]\ntau = 1.0\n");
        let e = from_table::<Outer>(t, "x.toml").unwrap_err().to_string();
        assert!(e.contains("key `epochs`"), "{e}");
        let mut t = table("name = 'a'\n");
        let e = apply_override(&mut t, "name.x=1").unwrap_err().to_string();
        assert!(e.contains("`name`") && e.contains("not a table"), "{e}");
        assert!(apply_override(&mut t, "novalue").is_err());
    }

    #[test]
    fn override_values_are_toml_or_strings() {
        assert_eq!(parse_override_value("3"), toml::Value::Integer(3));
        assert_eq!(parse_override_value("0.5"), toml::Value::Float(0.5));
        assert_eq!(parse_override_value("true"), toml::Value::Boolean(true));
        assert_eq!(
            parse_override_value("cifar10"),
            toml::Value::String("cifar10".into())
        );
        assert_eq!(
            parse_override_value("\"a b\""),
            toml::Value::String("a b".into())
        );
    }
}
