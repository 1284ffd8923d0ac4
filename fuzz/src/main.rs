//! The libFuzzer binary of every fuzz target: `CARBONARA_FUZZ_TARGET`
//! names the target (one of `carbonara::fuzz::TARGETS`) whose body gets
//! each input. scripts/fuzz.sh builds it with the coverage flags and runs
//! it once per target on that target's corpus.

#![no_main]

use std::sync::OnceLock;

use carbonara::fuzz::{Body, TARGETS};

static TARGET: OnceLock<Body> = OnceLock::new();

libfuzzer_sys::fuzz_target!(
    init: {
        let name = std::env::var("CARBONARA_FUZZ_TARGET").unwrap_or_default();
        let Some(&(_, body)) = TARGETS.iter().find(|(target, _)| *target == name) else {
            let names: Vec<&str> = TARGETS.iter().map(|(target, _)| *target).collect();
            panic!("CARBONARA_FUZZ_TARGET must name a target: {}", names.join(", "));
        };
        TARGET.set(body).expect("set once");
    },
    |data: &[u8]| TARGET.get().expect("set by init")(data)
);
