//! How much memory each op of an edge keeps alive for backward, in units of
//! one activation of the edge's input (`A` = 32 x 16 x 32 x 32 floats, 2 MiB):
//! the resident memory after the forward pass (the kept tensors plus the
//! output) and the peak over forward and backward, for each op alone, for
//! a relaxed edge in a weight step (alpha constant) and in an architecture
//! step (weights constant, alpha tracked), the same relaxed edge
//! differentiated one op at a time (as `backward_recomputing` does), and
//! each op under the architecture step's constant weights.
//!
//! ```text
//! MALLOC_MMAP_THRESHOLD_=65536 cargo run --release -p edas-nn --example retained
//! ```
//!
//! (The threshold makes glibc return every tensor buffer on free, so that
//! the resident size follows the live tensors. Linux only: it reads
//! `/proc/self/status` and resets the peak through `/proc/self/clear_refs`.)
#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use burn::prelude::*;
use common::{reset_peak, status};
use edas_genotype::Primitive;
use edas_nn::supernet::{EdgeWeighting, MixedEdge};
use edas_nn::untracked;

fn main() {
    let device = Device::flex().autodiff();
    let (n, c, h) = (32, 16, 32);
    let unit = (n * c * h * h * 4) as f64;
    let edge = MixedEdge::new_search(c, 1, &device);
    let x0: Tensor<4> = Tensor::random(
        [n, c, h, h],
        burn::tensor::Distribution::Normal(0.0, 1.0),
        &device,
    );
    let measure = |label: &str, f: &dyn Fn(Tensor<4>) -> Tensor<4>| {
        let x = x0.clone().detach().require_grad();
        let base = status("VmRSS");
        reset_peak();
        let y = f(x.clone());
        let after = status("VmRSS");
        let peak_fwd = status("VmHWM");
        let g = y.sum().backward();
        let peak = status("VmHWM");
        drop(g);
        println!(
            "{label:>16}: kept {:5.2} A (incl. output), fwd peak {:5.2} A, step peak {:5.2} A",
            (after - base) as f64 / unit,
            (peak_fwd - base) as f64 / unit,
            (peak - base) as f64 / unit
        );
    };
    for p in Primitive::ALL {
        measure(&format!("{p}"), &|x| {
            edge.forward(x.clone(), &EdgeWeighting::Clamped(p.index()))
                .unwrap_or_else(|| x.mul_scalar(0.0))
        });
    }
    let w: Tensor<1> = Tensor::random([8], burn::tensor::Distribution::Uniform(0.0, 1.0), &device);
    measure("relaxed (weight)", &|x| {
        edge.forward(
            x,
            &EdgeWeighting::Relaxed(w.clone().detach().set_require_grad(false)),
        )
        .unwrap()
    });
    let frozen = untracked(&edge);
    let wt = w.clone().detach().require_grad();
    measure("relaxed (arch)", &|x| {
        frozen
            .forward(x, &EdgeWeighting::Relaxed(wt.clone()))
            .unwrap()
    });
    // The relaxed edge as `backward_recomputing` differentiates it: one op
    // at a time, each op's forward and backward before the next op runs,
    // the input's gradient summed over the ops.
    let measure_parts = |label: &str, module: &MixedEdge, weighting: &EdgeWeighting| {
        let x = x0.clone().detach().require_grad();
        let base = status("VmRSS");
        reset_peak();
        let mut gx: Option<Tensor<4>> = None;
        for part in module.parts(weighting) {
            let y = module.forward_part(x.clone(), weighting, part).unwrap();
            let mut grads = y.sum().backward();
            let g = x.grad_remove(&mut grads).unwrap();
            gx = Some(match gx {
                Some(sum) => sum.add(g),
                None => g,
            });
        }
        let peak = status("VmHWM");
        drop(gx);
        println!(
            "{label:>16}: one op at a time, step peak {:5.2} A",
            (peak - base) as f64 / unit
        );
    };
    measure_parts(
        "relaxed (weight)",
        &edge,
        &EdgeWeighting::Relaxed(w.clone().detach().set_require_grad(false)),
    );
    measure_parts(
        "relaxed (arch)",
        &frozen,
        &EdgeWeighting::Relaxed(wt.clone()),
    );
    let frozen2 = untracked(&edge);
    for p in Primitive::ALL {
        measure(&format!("arch {p}"), &|x| {
            frozen2
                .forward(x.clone(), &EdgeWeighting::Clamped(p.index()))
                .unwrap_or_else(|| x.mul_scalar(0.0))
        });
    }
}
