//! Reading Flink configuration files into flat `key → value` pairs.

use anyhow::{anyhow, bail, Result};
use yaml_rust2::yaml::Hash;
use yaml_rust2::{Yaml, YamlLoader};

/// Flink's legacy `flink-conf.yaml` parser (`GlobalConfiguration`): one `key: value` per line,
/// `#` starts a comment, the value is everything after the first `": "`.
pub(super) fn parse_flat(text: &str, name: &str) -> Result<Vec<(String, String, Option<usize>)>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let content = line.split('#').next().unwrap_or_default().trim();
        if content.is_empty() {
            continue;
        }
        let Some((key, value)) = content.split_once(": ") else {
            bail!(
                "{name}, line {}: expected `key: value`, got {content:?}",
                i + 1
            );
        };
        let (key, value) = (key.trim(), value.trim());
        if key.is_empty() || value.is_empty() {
            bail!(
                "{name}, line {}: expected `key: value`, got {content:?}",
                i + 1
            );
        }
        out.push((key.to_string(), value.to_string(), Some(i + 1)));
    }
    Ok(out)
}

/// A YAML scalar as Flink reads it; lists are joined with `;`, Flink's list separator.
fn scalar(value: &Yaml, key: &str, name: &str) -> Result<String> {
    Ok(match value {
        Yaml::String(s) | Yaml::Real(s) => s.clone(),
        Yaml::Integer(i) => i.to_string(),
        Yaml::Boolean(b) => b.to_string(),
        Yaml::Array(items) => items
            .iter()
            .map(|v| scalar(v, key, name))
            .collect::<Result<Vec<_>>>()?
            .join(";"),
        _ => bail!("{name}: `{key}`: expected a value, got {value:?}"),
    })
}

fn flatten(node: &Yaml, prefix: &str, name: &str, out: &mut Vec<(String, String)>) -> Result<()> {
    match node {
        Yaml::Hash(map) => {
            for (k, v) in map {
                let part = scalar(k, prefix, name)?;
                let key = if prefix.is_empty() {
                    part
                } else {
                    format!("{prefix}.{part}")
                };
                flatten(v, &key, name, out)?;
            }
            Ok(())
        }
        Yaml::Null => Ok(()),
        value => {
            out.push((prefix.to_string(), scalar(value, prefix, name)?));
            Ok(())
        }
    }
}

fn load_mapping(text: &str, name: &str) -> Result<Hash> {
    let docs =
        YamlLoader::load_from_str(text).map_err(|e| anyhow!("{name}: not valid YAML: {e}"))?;
    match docs.into_iter().next() {
        Some(Yaml::Hash(root)) => Ok(root),
        None => Ok(Hash::new()),
        Some(other) => bail!("{name}: expected a mapping of keys, got {other:?}"),
    }
}

/// Flink 1.19+'s `config.yaml`: standard YAML whose nested mappings flatten to dotted keys
/// (`state: {backend: {type: rocksdb}}` is `state.backend.type: rocksdb`).
pub(super) fn flatten_yaml(text: &str, name: &str) -> Result<Vec<(String, String, Option<usize>)>> {
    let mut pairs = Vec::new();
    flatten(&Yaml::Hash(load_mapping(text, name)?), "", name, &mut pairs)?;
    Ok(pairs.into_iter().map(|(k, v)| (k, v, None)).collect())
}

/// Flat `key → value` pairs.
pub(super) type Pairs = Vec<(String, String)>;

/// A profiles file: profile name → its keys (nested or dotted).
pub(super) fn profile_sections(text: &str, name: &str) -> Result<Vec<(String, Pairs)>> {
    let root = load_mapping(text, name)?;
    let mut out = Vec::new();
    for (profile, keys) in &root {
        let profile = scalar(profile, "", name)?;
        if !matches!(keys, Yaml::Hash(_)) {
            bail!("{name}: profile {profile:?}: expected a mapping of Flink keys");
        }
        let mut pairs = Vec::new();
        flatten(keys, "", name, &mut pairs)?;
        out.push((profile, pairs));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_lines_and_nested_yaml_give_the_same_keys() {
        let flat = "# comment\nstate.backend.type: rocksdb\nstate.backend.rocksdb.writebuffer.size: 128 mb # big\n";
        let nested = "state:\n  backend:\n    type: rocksdb\n    rocksdb:\n      writebuffer:\n        size: 128 mb\n";
        let a: Vec<_> = parse_flat(flat, "a")
            .unwrap()
            .into_iter()
            .map(|(k, v, _)| (k, v))
            .collect();
        let b: Vec<_> = flatten_yaml(nested, "b")
            .unwrap()
            .into_iter()
            .map(|(k, v, _)| (k, v))
            .collect();
        assert_eq!(a, b);
        assert_eq!(parse_flat(flat, "a").unwrap()[1].2, Some(3));
        assert!(parse_flat("no separator here", "c")
            .unwrap_err()
            .to_string()
            .contains("c, line 1"));
        let list = flatten_yaml("x.y: [A, B]\n", "d").unwrap();
        assert_eq!(list[0].1, "A;B");
    }
}
