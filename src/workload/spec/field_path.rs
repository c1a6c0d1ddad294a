//! Errors that point at a field of the workload file. Every check reports in one form,
//! ``<file>: field `<path>`: expected <what>, got <value>``, so whoever wrote the file finds the
//! line to fix; keeping the form in one place keeps the checks from drifting apart.

use std::fmt::Display;

use anyhow::{anyhow, Result};

/// Where a check stands in the workload file: the file (or other origin) and the path of the
/// object being checked (`keys`, `states[2]`, `operator.users`; empty at the top level).
#[derive(Clone, Debug)]
pub(crate) struct FieldPath<'a> {
    origin: &'a str,
    path: String,
}

impl<'a> FieldPath<'a> {
    /// The top level of the file named `origin`.
    pub(crate) fn root(origin: &'a str) -> FieldPath<'a> {
        FieldPath {
            origin,
            path: String::new(),
        }
    }

    /// The object at `name` below this one.
    pub(crate) fn child(&self, name: &str) -> FieldPath<'a> {
        FieldPath {
            origin: self.origin,
            path: self.join(name),
        }
    }

    /// Rejects field `name` of this object: it holds `got` where `expected` was expected.
    pub(crate) fn invalid<T>(&self, name: &str, expected: &str, got: impl Display) -> Result<T> {
        Err(anyhow!(
            "{}: field `{}`: expected {expected}, got {got}",
            self.origin,
            self.join(name)
        ))
    }

    /// The path of field `name` of this object.
    fn join(&self, name: &str) -> String {
        if self.path.is_empty() {
            name.to_string()
        } else {
            format!("{}.{name}", self.path)
        }
    }
}
