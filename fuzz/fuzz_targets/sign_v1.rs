#![no_main]

use imgedge_fuzz::Scheme;

libfuzzer_sys::fuzz_target!(|data: &[u8]| imgedge_fuzz::sign(data, Scheme::V1));
