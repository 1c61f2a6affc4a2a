//! What is wrong with a configuration: [`ConfigProblem`]s, reported all at once as one
//! [`ConfigError`].

use super::*;

/// One thing wrong with the configuration, and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The variable at fault, if one is.
    pub variable: Option<&'static str>,
    /// Where its value came from.
    pub source: Option<Source>,
    /// What is wrong and what to do.
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.variable, self.source) {
            (Some(v), Some(s)) => write!(f, "{v} (from {s}): {}", self.message),
            (Some(v), None) => write!(f, "{v}: {}", self.message),
            _ => f.write_str(&self.message),
        }
    }
}

/// Everything wrong with a configuration, reported at once. Its `Debug` is its `Display`
/// (`{:#?}` shows the structure), so `?` out of `main` prints every problem and its fix.
#[derive(Clone, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub(super) problems: Vec<ConfigProblem>,
}

impl fmt::Debug for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            f.debug_struct("ConfigError")
                .field("problems", &self.problems)
                .finish()
        } else {
            fmt::Display::fmt(self, f)
        }
    }
}

impl ConfigError {
    /// One problem with one variable.
    pub(crate) fn single(variable: &'static str, message: impl Into<String>) -> Self {
        Self {
            problems: vec![ConfigProblem {
                variable: Some(variable),
                source: None,
                message: message.into(),
            }],
        }
    }

    /// Each problem found.
    pub fn problems(&self) -> &[ConfigProblem] {
        &self.problems
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "invalid msal configuration ({} problem",
            self.problems.len()
        )?;
        if self.problems.len() != 1 {
            f.write_str("s")?;
        }
        f.write_str("):")?;
        for p in &self.problems {
            write!(f, "\n  - {p}")?;
        }
        Ok(())
    }
}
