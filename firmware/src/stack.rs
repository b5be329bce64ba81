//! The stack's high-water mark: cortex-m-rt (feature `paint-stack`) fills the stack with
//! `0xCCCC_CCCC` at reset; the first word that is no longer paint, scanning up from the
//! stack's limit, is the deepest point the stack reached.

extern "C" {
    static _stack_start: u32;
    static _stack_end: u32;
}

const PAINT: u32 = 0xCCCC_CCCC;

/// `(peak bytes used, bytes available)` of the stack so far.
pub fn high_water() -> (u32, u32) {
    // SAFETY: the symbols come from cortex-m-rt's linker script and bound the stack region,
    // which is ordinary RAM; only their addresses are taken, and the words between them
    // are read (volatile) word by word, never written.
    unsafe {
        let top = core::ptr::addr_of!(_stack_start) as usize;
        let limit = core::ptr::addr_of!(_stack_end) as usize;
        let mut p = limit;
        while p < top && core::ptr::read_volatile(p as *const u32) == PAINT {
            p += 4;
        }
        ((top - p) as u32, (top - limit) as u32)
    }
}
