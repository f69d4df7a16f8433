//! The `fidogate run` configuration file: arbitrary YAML through
//! `config::load` (parse, every key's check, the files it names, read
//! from a scratch folder): an error naming the file, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::LazyLock;

static DIR: LazyLock<PathBuf> = LazyLock::new(|| {
    let d = std::env::temp_dir().join(format!("fidogate-fuzz-config-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("a scratch folder");
    d
});

fuzz_target!(|data: &[u8]| {
    let path = DIR.join("fidogate.yaml");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    if let Err(e) = fidogate_proxy::config::load(&path, &|_| None) {
        assert!(!e.key.is_empty(), "an error without a key: {e}");
    }
});
