//! Reading Flink configuration files into flat `key → value` pairs.

use anyhow::{anyhow, bail, Result};
use yaml_rust2::parser::Parser;
use yaml_rust2::yaml::Hash;
use yaml_rust2::{Event, Yaml, YamlLoader};

use crate::input::excerpt;

/// Deepest nesting of YAML mappings and sequences a configuration or profiles file may have
/// (Flink's keys nest a dozen levels at most).
pub const MAX_YAML_DEPTH: usize = 64;
/// Most YAML nodes a configuration or profiles file may hold once its aliases are expanded
/// (a "billion laughs" file is refused before it is loaded).
pub const MAX_YAML_NODES: usize = 100_000;

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
                "{name}, line {}: expected `key: value`, got {}",
                i + 1,
                excerpt(content)
            );
        };
        let (key, value) = (key.trim(), value.trim());
        if key.is_empty() || value.is_empty() {
            bail!(
                "{name}, line {}: expected `key: value`, got {}",
                i + 1,
                excerpt(content)
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
        _ => bail!(
            "{name}: `{}`: expected a value, got an alias or null",
            excerpt(key)
        ),
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

/// Checks, from the parser's events alone (nothing is built), that the YAML in `text` nests at
/// most [`MAX_YAML_DEPTH`] levels and expands to at most [`MAX_YAML_NODES`] nodes, counting
/// every alias as the size of the node it names.
fn check_yaml_bounds(text: &str, name: &str) -> Result<()> {
    let mut parser = Parser::new_from_str(text);
    // Per open collection: its anchor and the node count when it opened.
    let mut open: Vec<(usize, usize)> = Vec::new();
    // Expanded size of each anchored node, by anchor id.
    let mut anchored: Vec<(usize, usize)> = Vec::new();
    let mut nodes = 0usize;
    loop {
        let (event, mark) = parser
            .next_token()
            .map_err(|e| anyhow!("{name}: not valid YAML: {e}"))?;
        match event {
            Event::StreamEnd => return Ok(()),
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                nodes += 1;
                open.push((anchor, nodes));
                if open.len() > MAX_YAML_DEPTH {
                    bail!(
                        "{name}, line {}: YAML nested deeper than the limit of {MAX_YAML_DEPTH} levels",
                        mark.line()
                    );
                }
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((anchor, first)) = open.pop() {
                    if anchor != 0 {
                        anchored.push((anchor, nodes - first + 1));
                    }
                }
            }
            Event::Scalar(_, _, anchor, _) => {
                nodes += 1;
                if anchor != 0 {
                    anchored.push((anchor, 1));
                }
            }
            Event::Alias(anchor) => {
                let size = anchored
                    .iter()
                    .rev()
                    .find(|(a, _)| *a == anchor)
                    .map_or(1, |(_, size)| *size);
                nodes = nodes.saturating_add(size);
            }
            Event::Nothing | Event::StreamStart | Event::DocumentStart | Event::DocumentEnd => {}
        }
        if nodes > MAX_YAML_NODES {
            bail!(
                "{name}, line {}: YAML of more than the limit of {MAX_YAML_NODES} nodes (aliases expanded)",
                mark.line()
            );
        }
    }
}

fn load_mapping(text: &str, name: &str) -> Result<Hash> {
    check_yaml_bounds(text, name)?;
    let docs =
        YamlLoader::load_from_str(text).map_err(|e| anyhow!("{name}: not valid YAML: {e}"))?;
    match docs.into_iter().next() {
        Some(Yaml::Hash(root)) => Ok(root),
        None => Ok(Hash::new()),
        Some(_) => bail!("{name}: expected a mapping of keys at the top level"),
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
            bail!(
                "{name}: profile {}: expected a mapping of Flink keys",
                excerpt(&profile)
            );
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

    #[test]
    fn deep_or_exploding_yaml_is_refused_before_loading() {
        // yaml-rust2's own scanner stops deep flow collections first.
        let deep = format!("{}1{}", "[".repeat(20_000), "]".repeat(20_000));
        let err = flatten_yaml(&deep, "deep.yaml").unwrap_err().to_string();
        assert!(
            err.contains("deep.yaml: not valid YAML: recursion limit"),
            "{err}"
        );
        let nested: String = (0..20_000)
            .map(|i| format!("{}k:\n", " ".repeat(i)))
            .collect();
        let err = flatten_yaml(&nested, "nested.yaml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("limit of 64 levels"), "{err}");
        let mut laughs = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for (prev, next) in ('a'..='i').zip('b'..='j') {
            laughs.push_str(&format!("{next}: &{next} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"));
        }
        assert!(laughs.len() < 1024);
        let err = flatten_yaml(&laughs, "laughs.yaml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("limit of 100000 nodes"), "{err}");
        // Small aliases are fine.
        let ok = flatten_yaml("a: &v 5\nb: *v\n", "ok.yaml").unwrap();
        assert_eq!(ok[1], ("b".to_string(), "5".to_string(), None));
    }
}
