//! The board-independent on-device training application (issue #4 fills this in).
#![no_std]
#![forbid(unsafe_code)]
