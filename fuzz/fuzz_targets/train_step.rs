#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    microprop_fuzz::train_step(data);
});
