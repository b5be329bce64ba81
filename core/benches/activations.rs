//! ns per element of each activation's forward and derivative under each maths backend,
//! over a fixed sweep of 1,024 inputs in [-8, 8].
//! `cargo bench -p microprop --bench activations`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use microprop::{Activation, Libm, Math, Micromath};
use std::hint::black_box;

const N: usize = 1024;

fn sweep() -> [f32; N] {
    core::array::from_fn(|i| -8.0 + 16.0 * i as f32 / (N - 1) as f32)
}

fn bench_backend<M: Math<f32>>(c: &mut Criterion) {
    let z = sweep();
    let mut a = [0.0f32; N];
    let mut g = [1.0f32; N];
    let mut group = c.benchmark_group(M::NAME);
    group.throughput(Throughput::Elements(N as u64));
    for act in Activation::ALL {
        group.bench_function(format!("{} forward+derivative", act.name()), |b| {
            b.iter(|| {
                act.apply::<M>(black_box(&z), &mut a);
                g.fill(1.0);
                act.backward::<M>(&z, &a, &mut g);
                black_box(&g);
            })
        });
    }
    group.finish();
}

fn activations(c: &mut Criterion) {
    bench_backend::<Libm>(c);
    bench_backend::<Micromath>(c);
}

criterion_group!(benches, activations);
criterion_main!(benches);
