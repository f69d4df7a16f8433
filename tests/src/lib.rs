//! End-to-end tests of the `fidogate` gateway over loopback sockets; see
//! `tests/`.
