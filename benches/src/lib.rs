//! fidogate's benchmarks; see `benches/verify.rs` (`cargo bench -p fidogate-bench`).
