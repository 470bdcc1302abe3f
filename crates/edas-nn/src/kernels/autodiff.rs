//! [`Kernels`] on burn's autodiff backend: each op's forward on the inner
//! backend `B`, recorded with a hand-written backward that calls `B`'s own
//! backward op.
//!
//! Inputs are stored for the backward pass through the checkpointer, as
//! burn's own convolution and BatchNorm do (burn-autodiff 0.22.1,
//! `ops/module.rs`), so that balanced gradient checkpointing may recompute
//! them instead of keeping them. The ops are compute-bound: the checkpointer
//! keeps their outputs rather than recomputing them.
//!
//! Without checkpointing, the depthwise convolution, BatchNorm and max
//! pooling call the backend's `*_recorded` forwards: a backend that
//! records the op itself (LibTorch: its own autograd graph; for max
//! pooling, the forward's indices) is differentiated from that record by
//! [`Kernels::recorded_backward_2`], [`Kernels::recorded_backward_3`] or
//! [`Kernels::max_pool_backward_recorded`].
//! With a checkpointing strategy they do
//! not: the record would keep the inputs that the checkpointer may have
//! chosen to recompute.

use burn::backend::AutodiffBackend;
use burn::backend::{Backend, TensorMetadata};
use std::any::TypeId;

use burn::backend::autodiff::{
    Autodiff, NodeId,
    checkpoint::{
        base::Checkpointer,
        retro_forward::RetroForward,
        state::BackwardStates,
        strategy::{CheckpointStrategy, NoCheckpointing},
    },
    grads::Gradients,
    ops::{Backward, Ops, OpsKind},
};
use burn::backend::ops::ConvOptions;
use burn::backend::tensor::FloatTensor;

use super::Kernels;

/// Which of our convolutions (no bias) an [`OwnedConvBackward`]
/// differentiates.
#[derive(Debug, Clone)]
enum OwnedConv {
    Depthwise(ConvOptions<2>),
    ReluDepthwise(ConvOptions<2>),
}

impl OwnedConv {
    fn forward<B: Kernels>(&self, x: FloatTensor<B>, weight: FloatTensor<B>) -> FloatTensor<B> {
        match self {
            Self::Depthwise(options) => B::depthwise_conv2d(x, weight, options.clone()),
            Self::ReluDepthwise(options) => B::relu_depthwise_conv2d(x, weight, options.clone()),
        }
    }
}

/// Whether an op under strategy `C` may use the backend's record (the
/// `*_recorded` forwards): only without checkpointing.
fn records<C: CheckpointStrategy>() -> bool {
    TypeId::of::<C>() == TypeId::of::<NoCheckpointing>()
}

/// Registers each computed gradient for its tracked parent (`None`: the
/// parent is untracked).
fn register_all<B: Backend, const N: usize>(
    grads: &mut Gradients,
    parents: [Option<NodeId>; N],
    computed: [Option<FloatTensor<B>>; N],
) {
    for (id, g) in parents.into_iter().zip(computed) {
        if let (Some(id), Some(g)) = (id, g) {
            grads.register::<B>(id, g);
        }
    }
}

#[derive(Debug)]
struct OwnedConvBackward;

impl<B: Backend + Kernels> Backward<B, 2> for OwnedConvBackward {
    // The inputs through the checkpointer, the op, and the backend's record
    // (empty: differentiate from the inputs).
    type State = (NodeId, NodeId, OwnedConv, Vec<FloatTensor<B>>);

    fn backward(
        self,
        ops: Ops<Self::State, 2>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_w] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x_state, w_state, conv, record) = ops.state;
        let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(x_state);
        let w = checkpointer.retrieve_node_output::<FloatTensor<B>>(w_state);
        let (want_x, want_w) = (node_x.is_some(), node_w.is_some());
        let ids = [node_x, node_w].map(|node| node.map(|n| n.id));
        if let Ok([out, a, b]) = <[_; 3]>::try_from(record) {
            let (gx, gw) = B::recorded_backward_2(out, a, b, grad);
            register_all::<B, 2>(grads, ids, [gx, gw]);
            return;
        }
        let (gx, gw) = match conv {
            OwnedConv::Depthwise(options) => {
                B::depthwise_conv2d_backward(x, w, grad, options, want_x, want_w)
            }
            OwnedConv::ReluDepthwise(options) => {
                B::relu_depthwise_conv2d_backward(x, w, grad, options, want_x, want_w)
            }
        };
        register_all::<B, 2>(grads, ids, [gx, gw]);
    }
}

/// `conv`'s forward on `B`, recorded with [`OwnedConvBackward`].
fn owned_conv<B: Backend + Kernels, C: CheckpointStrategy>(
    x: FloatTensor<Autodiff<B, C>>,
    weight: FloatTensor<Autodiff<B, C>>,
    conv: OwnedConv,
) -> FloatTensor<Autodiff<B, C>> {
    match OwnedConvBackward
        .prepare::<C>([x.node(), weight.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(mut prep) => {
            let x_state = prep.checkpoint(&x);
            let w_state = prep.checkpoint(&weight);
            let (x_grad, weight_grad) = (x.is_tracked(), weight.is_tracked());
            let (x, weight) = (x.into_primitive(), weight.into_primitive());
            let (out, record) = match &conv {
                OwnedConv::Depthwise(options) if records::<C>() => {
                    B::depthwise_conv2d_recorded(x, weight, options.clone(), x_grad, weight_grad)
                }
                _ => (conv.forward::<B>(x, weight), Vec::new()),
            };
            prep.finish((x_state, w_state, conv, record), out)
        }
        OpsKind::UnTracked(prep) => {
            prep.finish(conv.forward::<B>(x.into_primitive(), weight.into_primitive()))
        }
    }
}

#[derive(Debug)]
struct PointwiseBackward;

impl<B: Backend + Kernels> Backward<B, 2> for PointwiseBackward {
    // Each input only when the other one needs a gradient.
    type State = (Option<NodeId>, Option<NodeId>);

    fn backward(
        self,
        ops: Ops<Self::State, 2>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_w] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let (x_state, w_state) = ops.state;
        let x = x_state.map(|s| checkpointer.retrieve_node_output::<FloatTensor<B>>(s));
        let w = w_state.map(|s| checkpointer.retrieve_node_output::<FloatTensor<B>>(s));
        let (gx, gw) = super::pointwise_backward::<B>(x, w, grad);
        let ids = [node_x, node_w].map(|node| node.map(|n| n.id));
        register_all::<B, 2>(grads, ids, [gx, gw]);
    }
}

/// [`Kernels::rectify`]'s backward: [`Kernels::relu_grad`] at the input.
#[derive(Debug)]
struct RectifyBackward;

impl<B: Backend + Kernels> Backward<B, 1> for RectifyBackward {
    type State = NodeId;

    fn backward(
        self,
        ops: Ops<Self::State, 1>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x] = ops.parents;
        let grad = grads.consume::<B>(&ops.node);
        let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(ops.state);
        if let Some(node) = node_x {
            grads.register::<B>(node.id, B::relu_grad(x, grad));
        }
    }
}

/// [`Kernels::rectify`] again from its stored input, for a checkpointer
/// that chose to recompute its output (as burn's own ReLU).
#[derive(Debug, Clone)]
struct RetroRectify<B> {
    input: NodeId,
    backend: std::marker::PhantomData<B>,
}

impl<B: Backend + Kernels> RetroForward for RetroRectify<B> {
    fn forward(&self, states: &mut BackwardStates, out_node: NodeId) {
        let x = states.get_state::<FloatTensor<B>>(&self.input);
        states.save(out_node, B::rectify(x));
    }
}

impl<B: Backend + Kernels, C: CheckpointStrategy> Kernels for Autodiff<B, C> {
    fn depthwise_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        owned_conv::<B, C>(x, weight, OwnedConv::Depthwise(options))
    }

    fn relu_depthwise_conv2d(
        x: FloatTensor<Self>,
        weight: FloatTensor<Self>,
        options: ConvOptions<2>,
    ) -> FloatTensor<Self> {
        owned_conv::<B, C>(x, weight, OwnedConv::ReluDepthwise(options))
    }

    fn pointwise_conv2d(x: FloatTensor<Self>, weight: FloatTensor<Self>) -> FloatTensor<Self> {
        let (x_tracked, w_tracked) = (x.is_tracked(), weight.is_tracked());
        match PointwiseBackward
            .prepare::<C>([x.node(), weight.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let x_state = w_tracked.then(|| prep.checkpoint(&x));
                let w_state = x_tracked.then(|| prep.checkpoint(&weight));
                let out = B::pointwise_conv2d(x.into_primitive(), weight.into_primitive());
                prep.finish((x_state, w_state), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::pointwise_conv2d(
                x.into_primitive(),
                weight.into_primitive(),
            )),
        }
    }

    fn batch_norm_stats(
        x: FloatTensor<Self>,
        gamma: FloatTensor<Self>,
        beta: FloatTensor<Self>,
        epsilon: f64,
    ) -> (FloatTensor<Self>, FloatTensor<Self>, FloatTensor<Self>) {
        #[derive(Debug)]
        struct BatchNormBackward;

        impl<B: Backend + Kernels> Backward<B, 3> for BatchNormBackward {
            // The input and gamma through the checkpointer; the batch
            // statistics as the forward computed them; the backend's record
            // (empty: differentiate from the rest).
            type State = (
                NodeId,
                NodeId,
                FloatTensor<B>,
                FloatTensor<B>,
                f64,
                Vec<FloatTensor<B>>,
            );

            fn backward(
                self,
                ops: Ops<Self::State, 3>,
                grads: &mut Gradients,
                checkpointer: &mut Checkpointer,
            ) {
                let [node_x, node_gamma, node_beta] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                let (x_state, gamma_state, mean, variance, epsilon, record) = ops.state;
                let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(x_state);
                let gamma = checkpointer.retrieve_node_output::<FloatTensor<B>>(gamma_state);
                let nodes = [node_x, node_gamma, node_beta];
                let computed = match <[_; 4]>::try_from(record) {
                    Ok([out, a, b, c]) => {
                        let (gx, ggamma, gbeta) = B::recorded_backward_3(out, a, b, c, grad);
                        [gx, ggamma, gbeta]
                    }
                    Err(_) => {
                        let (gx, ggamma, gbeta) =
                            B::batch_norm_stats_backward(x, gamma, mean, variance, epsilon, grad);
                        [Some(gx), Some(ggamma), Some(gbeta)]
                    }
                };
                register_all::<B, 3>(grads, nodes.map(|node| node.map(|n| n.id)), computed);
            }
        }

        match BatchNormBackward
            .prepare::<C>([x.node(), gamma.node(), beta.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let x_state = prep.checkpoint(&x);
                let gamma_state = prep.checkpoint(&gamma);
                let want = [x.is_tracked(), gamma.is_tracked(), beta.is_tracked()];
                let (x, gamma, beta) = (
                    x.into_primitive(),
                    gamma.into_primitive(),
                    beta.into_primitive(),
                );
                let (out, mean, var, record) = if records::<C>() {
                    B::batch_norm_stats_recorded(x, gamma, beta, epsilon, want[0], want[1], want[2])
                } else {
                    let (out, mean, var) = B::batch_norm_stats(x, gamma, beta, epsilon);
                    (out, mean, var, Vec::new())
                };
                let out = prep.finish(
                    (
                        x_state,
                        gamma_state,
                        mean.clone(),
                        var.clone(),
                        epsilon,
                        record,
                    ),
                    out,
                );
                (out, Self::from_inner(mean), Self::from_inner(var))
            }
            OpsKind::UnTracked(prep) => {
                let (out, mean, var) = B::batch_norm_stats(
                    x.into_primitive(),
                    gamma.into_primitive(),
                    beta.into_primitive(),
                    epsilon,
                );
                (
                    prep.finish(out),
                    Self::from_inner(mean),
                    Self::from_inner(var),
                )
            }
        }
    }

    fn rectify(x: FloatTensor<Self>) -> FloatTensor<Self> {
        // Memory-bound, recomputable and keeping its input, as burn-autodiff
        // 0.22.1's own `relu` (`ops/activation.rs`).
        let retro = RetroRectify::<B> {
            input: x.id(),
            backend: std::marker::PhantomData,
        };
        match RectifyBackward
            .prepare::<C>([x.node()])
            .memory_bound()
            .retro_forward(retro)
            .parents([&x])
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let state = prep.checkpoint(&x);
                prep.finish(state, B::rectify(x.into_primitive()))
            }
            OpsKind::UnTracked(prep) => prep.finish(B::rectify(x.into_primitive())),
        }
    }

    fn grad_seed(x: FloatTensor<Self>, grad: FloatTensor<Self>) -> FloatTensor<Self> {
        /// Hands the stored gradient to `x`; the scalar's own gradient (1
        /// at the root of a backward pass) is dropped.
        #[derive(Debug)]
        struct SeedBackward;

        impl<B: Backend> Backward<B, 1> for SeedBackward {
            type State = FloatTensor<B>;

            fn backward(
                self,
                ops: Ops<Self::State, 1>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let [node_x] = ops.parents;
                drop(grads.consume::<B>(&ops.node));
                if let Some(node) = node_x {
                    grads.register::<B>(node.id, ops.state);
                }
            }
        }

        let grad = grad.into_primitive();
        let (device, dtype) = (x.primitive().device(), x.primitive().dtype());
        let zero = || B::float_zeros(burn::tensor::Shape::new([1]), &device, dtype.into());
        match SeedBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let out = zero();
                prep.finish(grad, out)
            }
            OpsKind::UnTracked(prep) => prep.finish(zero()),
        }
    }

    fn scale_examples(x: FloatTensor<Self>, scales: FloatTensor<Self>) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct ScaleBackward;

        impl<B: Backend + Kernels> Backward<B, 1> for ScaleBackward {
            // The scales: a constant, kept whole (one value per example).
            type State = FloatTensor<B>;

            fn backward(
                self,
                ops: Ops<Self::State, 1>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let [node_x] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                if let Some(node) = node_x {
                    grads.register::<B>(node.id, B::scale_examples(grad, ops.state));
                }
            }
        }

        // The input is not kept: the backward needs only the scales.
        let scales = scales.into_primitive();
        match ScaleBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => {
                let out = B::scale_examples(x.into_primitive(), scales.clone());
                prep.finish(scales, out)
            }
            OpsKind::UnTracked(prep) => prep.finish(B::scale_examples(x.into_primitive(), scales)),
        }
    }

    fn max_pool(
        x: FloatTensor<Self>,
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct MaxPoolBackward;

        impl<B: Backend + Kernels> Backward<B, 1> for MaxPoolBackward {
            // The input through the checkpointer, the window, and the
            // backend's record (empty: find the maxima again from the input;
            // LibTorch: the forward's indices).
            type State = (
                NodeId,
                [usize; 2],
                [usize; 2],
                [usize; 2],
                Vec<FloatTensor<B>>,
            );

            fn backward(
                self,
                ops: Ops<Self::State, 1>,
                grads: &mut Gradients,
                checkpointer: &mut Checkpointer,
            ) {
                let [node_x] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                let (x_state, kernel, stride, padding, record) = ops.state;
                let x = checkpointer.retrieve_node_output::<FloatTensor<B>>(x_state);
                let Some(node) = node_x else { return };
                let g = match <[_; 1]>::try_from(record) {
                    Ok([kept]) => {
                        B::max_pool_backward_recorded(x, kept, grad, kernel, stride, padding)
                    }
                    Err(_) => B::max_pool_backward(x, grad, kernel, stride, padding),
                };
                grads.register::<B>(node.id, g);
            }
        }

        match MaxPoolBackward
            .prepare::<C>([x.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let x_state = prep.checkpoint(&x);
                let x = x.into_primitive();
                let (out, record) = if records::<C>() {
                    B::max_pool_recorded(x, kernel, stride, padding)
                } else {
                    (B::max_pool(x, kernel, stride, padding), Vec::new())
                };
                prep.finish((x_state, kernel, stride, padding, record), out)
            }
            OpsKind::UnTracked(prep) => {
                prep.finish(B::max_pool(x.into_primitive(), kernel, stride, padding))
            }
        }
    }
}
