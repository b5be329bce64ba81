#![no_std]
#![no_main]
use cortex_m as _;
use microprop_firmware::qemu;
#[cortex_m_rt::entry]
fn main() -> ! { qemu::exit(true) }
