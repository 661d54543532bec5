//! Fuzz target: arbitrary bytes as a `tandem simulate` scenario for the example program — the one-pass scenario reader must never panic, and what it accepts it must read as it reads the same scenario written back by `serde_json`.
#![no_main]

#[path = "../common/example.rs"]
mod example;

use example::program;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let sym = program().workspace().symbols();
    if let Ok(read) = runtime::scenario::parse_scenario(text, sym) {
        let value: serde_json::Value =
            serde_json::from_str(text).unwrap_or_else(|_| panic!("accepted, so JSON"));
        let again = runtime::scenario::parse_scenario(&value.to_string(), sym);
        assert_eq!(Ok(read), again);
    }
});
