#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| imgedge_fuzz::bucket_xml(data));
