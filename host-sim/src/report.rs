//! `report` (in progress).
use crate::{Ctx, Output, Res};
/// Runs `report`.
pub fn run(_a: &crate::cli::ReportArgs, _ctx: &Ctx) -> Res<Output> {
    Err("not yet".into())
}
