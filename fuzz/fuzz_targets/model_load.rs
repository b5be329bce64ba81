#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    microprop_fuzz::model_load(data);
});
