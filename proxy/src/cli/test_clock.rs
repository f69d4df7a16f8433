//! A clock for the scenario tests, compiled only with the `test-clock`
//! feature: the system clock moved by the number of seconds written in the
//! file `FIDOGATE_TEST_CLOCK_FILE` names, read on every request, so a test
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
        let offset: i64 = std::fs::read_to_string(&self.path)
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .ok_or_else(|| SourceError(format!("{}: no clock offset", self.path.display())))?;
        env.now = UnixTime::from_secs(env.now.as_secs().saturating_add(offset));
        Ok(env)
    }
}
