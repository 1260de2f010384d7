#![no_main]

libfuzzer_sys::fuzz_target!(
    init: imgedge_fuzz::tolerate_caught_codec_panics(),
    |data: &[u8]| imgedge_fuzz::pipeline(data)
);
