//! A clock for the scenario tests, compiled only with the `test-clock`
//! feature, read on every request from the file `FIDOGATE_TEST_CLOCK_FILE`
//! names: a number of seconds moves the system clock by that much; `@`
//! and a Unix time stops the clock at that instant (so a test can land
//! exactly on a challenge's TTL however slowly the machine runs). A test
//! can let a challenge expire without waiting. A build without the feature
//! has no way to move its clock; never deploy one with it.

use fidogate_core::UnixTime;
use fidogate_core::gateway::{Env, Source, SourceError, SystemSource};
use std::path::PathBuf;

/// The environment variable naming the offset file.
pub(crate) const VAR: &str = "FIDOGATE_TEST_CLOCK_FILE";

/// The system source, its clock offset by the file's seconds.
#[derive(Debug)]
pub(crate) struct FileClock {
    pub path: PathBuf,
}

impl Source for FileClock {
    fn env(&self) -> Result<Env, SourceError> {
        let mut env = SystemSource.env()?;
        // A file that cannot be read is a broken test: refuse the request
        // rather than run on the real clock.
        let text = std::fs::read_to_string(&self.path).unwrap_or_default();
        let text = text.trim();
        let no_clock = || {
            SourceError(format!(
                "{}: no clock offset or instant",
                self.path.display()
            ))
        };
        env.now = match text.strip_prefix('@') {
            Some(at) => UnixTime::from_secs(at.parse().map_err(|_| no_clock())?),
            None => {
                let offset: i64 = text.parse().map_err(|_| no_clock())?;
                UnixTime::from_secs(env.now.as_secs().saturating_add(offset))
            }
        };
        Ok(env)
    }
}
