//! `demo` (in progress).
use crate::{Ctx, Output, Res};
/// Runs `demo`.
pub fn run(_a: &crate::cli::DemoArgs, _ctx: &Ctx) -> Res<Output> {
    Err("not yet".into())
}
