//! `activations` (in progress).
use crate::{Ctx, Output, Res};
/// Runs `activations`.
pub fn run(_a: &crate::cli::ActivationsArgs, _ctx: &Ctx) -> Res<Output> {
    Err("not yet".into())
}
