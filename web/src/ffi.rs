//! The page's interface: plain C-ABI functions over one [`Playground`] (no bindings
//! generator). Text goes in through a buffer the page fills ([`mp_input`]); answers come
//! back in the output buffer (JSON, an error sentence or the model file's bytes:
//! [`mp_out_ptr`], [`mp_out_len`]) or the float buffer (grids: [`mp_floats_ptr`],
//! [`mp_floats_len`]), which the page reads straight from the module's memory.
//!
//! Every function returning `i32` returns 0 on success and 1 on failure, the output
//! buffer then holding the error message.
// `no_mangle` is what exports a function from the .wasm; nothing here is otherwise unsafe.
#![allow(unsafe_code)]

use std::cell::RefCell;

use crate::{Config, Playground, Res};

#[derive(Default)]
struct Ffi {
    run: Option<Playground>,
    input: Vec<u8>,
    out: Vec<u8>,
    floats: Vec<f32>,
}

thread_local! {
    static FFI: RefCell<Ffi> = RefCell::new(Ffi::default());
}

/// Runs `f` on the state; its `Ok` bytes (or its error message) become the output.
fn answer(f: impl FnOnce(&mut Ffi) -> Res<Vec<u8>>) -> i32 {
    FFI.with(|cell| {
        let mut s = cell.borrow_mut();
        match f(&mut s) {
            Ok(bytes) => {
                s.out = bytes;
                0
            }
            Err(e) => {
                s.out = e.into_bytes();
                1
            }
        }
    })
}

fn json<T: serde::Serialize>(v: &T) -> Res<Vec<u8>> {
    serde_json::to_vec(v).map_err(|e| format!("cannot encode JSON: {e}"))
}

fn run(s: &mut Ffi) -> Res<&mut Playground> {
    s.run
        .as_mut()
        .ok_or_else(|| "no run: call mp_init first".to_string())
}

/// Makes the input buffer `len` bytes long and returns where it starts in memory.
#[unsafe(no_mangle)]
pub extern "C" fn mp_input(len: usize) -> usize {
    FFI.with(|cell| {
        let mut s = cell.borrow_mut();
        s.input.clear();
        s.input.resize(len, 0);
        s.input.as_ptr() as usize
    })
}

/// Starts a run from the JSON [`Config`] in the input buffer; the output is the run's
/// [`Info`](crate::Info) as JSON.
#[unsafe(no_mangle)]
pub extern "C" fn mp_init() -> i32 {
    answer(|s| {
        let cfg: Config =
            serde_json::from_slice(&s.input).map_err(|e| format!("configuration: {e}"))?;
        s.run = None;
        let run = Playground::new(cfg)?;
        let info = json(&run.info())?;
        s.run = Some(run);
        Ok(info)
    })
}

/// Trains `n` epochs; the output is their [`EpochStats`](crate::EpochStats) as a JSON
/// array.
#[unsafe(no_mangle)]
pub extern "C" fn mp_epochs(n: u32) -> i32 {
    answer(|s| {
        let run = run(s)?;
        let mut done = Vec::new();
        for _ in 0..n {
            done.push(run.epoch()?);
        }
        json(&done)
    })
}

/// The network's [`State`](crate::State) as JSON.
#[unsafe(no_mangle)]
pub extern "C" fn mp_state() -> i32 {
    answer(|s| {
        let state = run(s)?.state()?;
        json(&state)
    })
}

/// The decision boundary on an `n × n` grid into the float buffer
/// ([`Playground::boundary`]); the output is empty.
#[unsafe(no_mangle)]
pub extern "C" fn mp_boundary(n: usize) -> i32 {
    answer(|s| {
        s.floats = run(s)?.boundary(n.clamp(2, 256))?;
        Ok(Vec::new())
    })
}

/// Every unit's output on an `n × n` grid into the float buffer
/// ([`Playground::neurons`]); the output is empty.
#[unsafe(no_mangle)]
pub extern "C" fn mp_neurons(n: usize) -> i32 {
    answer(|s| {
        s.floats = run(s)?.neurons(n.clamp(2, 64))?;
        Ok(Vec::new())
    })
}

/// Both grids the page draws per frame in one call: the decision boundary on an
/// `nb × nb` grid ([`mp_boundary`]) followed by every unit's output on an `nn × nn` grid
/// ([`mp_neurons`]), into the float buffer; the output is empty.
#[unsafe(no_mangle)]
pub extern "C" fn mp_grids(nb: usize, nn: usize) -> i32 {
    answer(|s| {
        let run = run(s)?;
        let mut grids = run.boundary(nb.clamp(2, 256))?;
        grids.extend(run.neurons(nn.clamp(2, 64))?);
        s.floats = grids;
        Ok(Vec::new())
    })
}

/// Experiment A's loss and gradient surfaces on an `n × n` grid of half-width `span`
/// into the float buffer ([`Playground::surface`]); the output is the two centres as
/// JSON `[w00, w10]`.
#[unsafe(no_mangle)]
pub extern "C" fn mp_surface(n: usize, span: f64) -> i32 {
    answer(|s| {
        let run = run(s)?;
        let mut centre = [0.0f32; 2];
        if let Some(l) = run.state()?.weights.first() {
            centre = [
                l.w.first().copied().unwrap_or(0.0),
                l.w.get(l.inputs).copied().unwrap_or(0.0),
            ];
        }
        let grid = run.surface(n.clamp(2, 64), span)?;
        s.floats = grid;
        json(&centre)
    })
}

/// The model file's bytes into the output ([`Playground::model_file`]).
#[unsafe(no_mangle)]
pub extern "C" fn mp_model() -> i32 {
    answer(|s| run(s)?.model_file())
}

/// Where the output buffer starts.
#[unsafe(no_mangle)]
pub extern "C" fn mp_out_ptr() -> usize {
    FFI.with(|cell| cell.borrow().out.as_ptr() as usize)
}

/// The output buffer's length in bytes.
#[unsafe(no_mangle)]
pub extern "C" fn mp_out_len() -> usize {
    FFI.with(|cell| cell.borrow().out.len())
}

/// Where the float buffer starts.
#[unsafe(no_mangle)]
pub extern "C" fn mp_floats_ptr() -> usize {
    FFI.with(|cell| cell.borrow().floats.as_ptr() as usize)
}

/// The float buffer's length in floats.
#[unsafe(no_mangle)]
pub extern "C" fn mp_floats_len() -> usize {
    FFI.with(|cell| cell.borrow().floats.len())
}
