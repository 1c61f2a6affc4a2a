//! Where configuration text comes from, in order of precedence: code, the environment, a
//! `.env` file in the working directory, a secrets directory (one file per variable).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// Where a configuration value came from; named in error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Source {
    /// Set on the builder.
    Code,
    /// A process environment variable.
    Environment,
    /// The `.env` file.
    DotEnv,
    /// A file in the secrets directory.
    SecretsDir,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Source::Code => "code",
            Source::Environment => "environment",
            Source::DotEnv => ".env",
            Source::SecretsDir => "secrets dir",
        })
    }
}

/// Raw values by variable name, each with where it came from.
pub(crate) type RawValues = BTreeMap<&'static str, (String, Source)>;

/// The outside world the builder reads: swapped out in tests.
pub(crate) struct Sources {
    pub(crate) env: BTreeMap<String, String>,
    pub(crate) dotenv: Option<PathBuf>,
    pub(crate) default_secrets_dir: PathBuf,
}

impl Sources {
    pub(crate) fn process() -> Self {
        Self {
            env: std::env::vars().collect(),
            dotenv: Some(PathBuf::from(".env")),
            default_secrets_dir: PathBuf::from("/run/secrets"),
        }
    }

    /// Fills every variable not yet set, from the environment, then `.env`, then the
    /// secrets directory. Problems reading them are returned, not ignored.
    pub(crate) fn fill(&self, values: &mut RawValues, names: &[&'static str]) -> Vec<String> {
        let mut problems = Vec::new();
        let dotenv = match &self.dotenv {
            Some(path) if path.exists() => match read_dotenv(path) {
                Ok(map) => map,
                Err(e) => {
                    problems.push(e);
                    BTreeMap::new()
                }
            },
            _ => BTreeMap::new(),
        };
        for name in names {
            if values.contains_key(name) {
                continue;
            }
            if let Some(v) = self.env.get(*name) {
                values.insert(name, (v.clone(), Source::Environment));
            } else if let Some(v) = dotenv.get(*name) {
                values.insert(name, (v.clone(), Source::DotEnv));
            }
        }
        // The secrets directory itself may be configured by any source above.
        let dir = values
            .get("MSAL_SECRETS_DIR")
            .map(|(v, _)| PathBuf::from(v))
            .unwrap_or_else(|| self.default_secrets_dir.clone());
        for name in names {
            if values.contains_key(name) || *name == "MSAL_SECRETS_DIR" {
                continue;
            }
            match read_secret(&dir, name) {
                Ok(Some(v)) => {
                    values.insert(name, (v, Source::SecretsDir));
                }
                Ok(None) => {}
                Err(e) => problems.push(e),
            }
        }
        problems
    }
}

fn read_dotenv(path: &Path) -> Result<BTreeMap<String, String>, String> {
    let iter = dotenvy::from_path_iter(path)
        .map_err(|e| format!("{} could not be read: {e}", path.display()))?;
    iter.map(|item| {
        item.map_err(|e| match e {
            // dotenvy quotes the whole line, which may hold a secret: give its place only.
            dotenvy::Error::LineParse(_, at) => format!(
                "{} is malformed at byte {at}: use NAME=value lines",
                path.display()
            ),
            e => format!("{} is malformed: {e}", path.display()),
        })
    })
    .collect()
}

/// `{dir}/{lower-case name}`, trimmed of the trailing newline editors and `echo` leave.
fn read_secret(dir: &Path, name: &str) -> Result<Option<String>, String> {
    let path = dir.join(name.to_ascii_lowercase());
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(text.trim_end_matches(['\n', '\r']).to_owned())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => Ok(None),
        Err(e) => Err(format!("{} could not be read: {e}", path.display())),
    }
}
