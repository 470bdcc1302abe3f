//! ONNX export of a discrete network for inference: the stem, the cells and
//! the classifier (the auxiliary head is a training device and is left
//! out), BatchNorm with its running statistics, images `[batch, C, H, W]`
//! in, logits `[batch, classes]` out, opset 17.
//!
//! burn 0.22 reads ONNX (`burn-onnx` generates Rust from a model) but
//! writes none, so the graph is built here from the network's modules, one
//! ONNX operator per burn operation: `Conv` (groups, dilation, explicit
//! pads), `BatchNormalization`, `Relu`, `MaxPool`, `AveragePool`
//! (`count_include_pad` as the module has it), `Slice` + end-padded `Conv`
//! for the shifted branch of a factorized reduce, `Add`, `Concat`,
//! `GlobalAveragePool`, `Flatten`, `Gemm`. `cargo xtask interop` checks
//! that onnxruntime gives edas' logits.

mod proto;

use std::path::Path;

use burn::module::Param;
use burn::nn::conv::Conv2d;
use burn::nn::{Linear, PaddingConfig2d};
use burn::prelude::*;
use edas_genotype::nb201::NB201_EDGES;
use edas_nn::nb201::{Nb201CellModule, Nb201Edge, Nb201Layer, Nb201Network, ResBlock};
use edas_nn::network::{Cell, Stem};
use edas_nn::ops::{Bn, FactorizedReduce, Op, ReluConvBn};
use edas_nn::scaffold::Preprocess;
use edas_nn::{Model, Network};
use prost::Message;

use edas_run::RunError;
pub use proto::ModelProto;
use proto::{
    AttributeProto, AttributeType, Dimension, GraphProto, NodeProto, OperatorSetIdProto,
    TensorProto, TensorShapeProto, TensorTypeProto, TypeProto, ValueInfoProto,
};

/// The ONNX operator set the graph uses.
pub const OPSET: i64 = 17;
/// The IR version that goes with [`OPSET`].
const IR_VERSION: i64 = 8;
/// BatchNorm's epsilon in edas (and DARTS).
const BN_EPSILON: f32 = 1e-5;

/// Why a network cannot be exported.
#[derive(Debug, thiserror::Error)]
pub enum OnnxError {
    /// A tensor cannot be read back from the device.
    #[error(transparent)]
    Read(#[from] edas_nn::NnError),
    /// A module has a setting ONNX export does not cover.
    #[error("cannot export {what} to ONNX: {why}")]
    Unsupported {
        /// The module.
        what: String,
        /// Why.
        why: String,
    },
}

fn attr_ints(name: &str, values: &[usize]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Ints as i32,
        ints: values.iter().map(|&v| v as i64).collect(),
        ..AttributeProto::default()
    }
}

fn attr_int(name: &str, value: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Int as i32,
        i: value,
        ..AttributeProto::default()
    }
}

fn attr_float(name: &str, value: f32) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Float as i32,
        f: value,
        ..AttributeProto::default()
    }
}

/// ONNX pads `[top, left, bottom, right]` of a burn padding.
fn pads(padding: &PaddingConfig2d, what: &str) -> Result<[usize; 4], OnnxError> {
    match padding {
        PaddingConfig2d::Valid => Ok([0; 4]),
        PaddingConfig2d::Explicit(top, left, bottom, right) => Ok([*top, *left, *bottom, *right]),
        PaddingConfig2d::Same => Err(OnnxError::Unsupported {
            what: what.into(),
            why: "`Same` padding (edas' networks pad explicitly)".into(),
        }),
    }
}

fn value_info(name: &str, dims: &[Result<usize, &str>]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| match d {
            Ok(n) => Dimension {
                dim_value: Some(*n as i64),
                dim_param: None,
            },
            Err(symbol) => Dimension {
                dim_value: None,
                dim_param: Some((*symbol).to_owned()),
            },
        })
        .collect();
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type: proto::FLOAT,
                shape: Some(TensorShapeProto { dim }),
            }),
        }),
    }
}

/// A graph under construction: nodes in order, initializers, fresh names.
#[derive(Default)]
struct Graph {
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    next: usize,
}

impl Graph {
    /// Adds node `op` reading `inputs`; returns its output's name.
    fn node(&mut self, op: &str, inputs: Vec<String>, attribute: Vec<AttributeProto>) -> String {
        self.next += 1;
        let output = format!("{}_{}", op.to_lowercase(), self.next);
        self.nodes.push(NodeProto {
            input: inputs,
            output: vec![output.clone()],
            name: format!("{op}_{}", self.next),
            op_type: op.into(),
            attribute,
        });
        output
    }

    fn floats(&mut self, name: &str, dims: &[usize], values: &[f32]) -> String {
        self.initializers.push(TensorProto {
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: proto::FLOAT,
            name: name.into(),
            raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        });
        name.into()
    }

    fn ints(&mut self, name: &str, values: &[i64]) -> String {
        self.initializers.push(TensorProto {
            dims: vec![values.len() as i64],
            data_type: proto::INT64,
            name: name.into(),
            raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        });
        name.into()
    }

    /// A tensor of the network as an initializer named `name`.
    fn tensor<const D: usize>(&mut self, name: &str, t: Tensor<D>) -> Result<String, OnnxError> {
        let dims = t.dims();
        let values = edas_nn::to_host(t)?;
        Ok(self.floats(name, &dims, &values))
    }

    fn param<const D: usize>(
        &mut self,
        name: &str,
        p: &Param<Tensor<D>>,
    ) -> Result<String, OnnxError> {
        self.tensor(name, p.val())
    }

    fn relu(&mut self, x: String) -> String {
        self.node("Relu", vec![x], Vec::new())
    }

    /// `conv(x)`, with `extra_end` more zero padding at the bottom and right.
    fn conv_padded(
        &mut self,
        name: &str,
        conv: &Conv2d,
        x: String,
        extra_end: usize,
    ) -> Result<String, OnnxError> {
        if conv.bias.is_some() {
            return Err(OnnxError::Unsupported {
                what: name.into(),
                why: "a convolution with a bias (DARTS' have none)".into(),
            });
        }
        let w = self.param(&format!("{name}.weight"), &conv.weight)?;
        let [top, left, bottom, right] = pads(&conv.padding, name)?;
        let attrs = vec![
            attr_ints("kernel_shape", &conv.kernel_size),
            attr_ints("strides", &conv.stride),
            attr_ints("dilations", &conv.dilation),
            attr_int("group", conv.groups as i64),
            attr_ints("pads", &[top, left, bottom + extra_end, right + extra_end]),
        ];
        Ok(self.node("Conv", vec![x, w], attrs))
    }

    fn conv(&mut self, name: &str, conv: &Conv2d, x: String) -> Result<String, OnnxError> {
        self.conv_padded(name, conv, x, 0)
    }

    /// Inference BatchNorm with the running statistics (scale 1, shift 0
    /// when not affine).
    fn bn(&mut self, name: &str, bn: &Bn, x: String) -> Result<String, OnnxError> {
        let c = bn.channels;
        let scale = match &bn.gamma {
            Some(g) => self.param(&format!("{name}.weight"), g)?,
            None => self.floats(&format!("{name}.weight"), &[c], &vec![1.0; c]),
        };
        let shift = match &bn.beta {
            Some(b) => self.param(&format!("{name}.bias"), b)?,
            None => self.floats(&format!("{name}.bias"), &[c], &vec![0.0; c]),
        };
        let mean = self.tensor(&format!("{name}.running_mean"), bn.running_mean.value())?;
        let var = self.tensor(&format!("{name}.running_var"), bn.running_var.value())?;
        Ok(self.node(
            "BatchNormalization",
            vec![x, scale, shift, mean, var],
            vec![attr_float("epsilon", BN_EPSILON)],
        ))
    }

    fn bn_opt(&mut self, name: &str, bn: Option<&Bn>, x: String) -> Result<String, OnnxError> {
        match bn {
            Some(bn) => self.bn(name, bn, x),
            None => Ok(x),
        }
    }

    fn relu_conv_bn(&mut self, name: &str, m: &ReluConvBn, x: String) -> Result<String, OnnxError> {
        let r = self.relu(x);
        let y = self.conv(&format!("{name}.conv"), &m.conv, r)?;
        self.bn(&format!("{name}.bn"), &m.bn, y)
    }

    /// ReLU, then `conv1(x)` and `conv2` of `x` shifted by one pixel
    /// (zero-padded at the far edge, as edas computes it), concatenated, BN.
    fn factorized_reduce(
        &mut self,
        name: &str,
        m: &FactorizedReduce,
        x: String,
    ) -> Result<String, OnnxError> {
        let r = self.relu(x);
        let a = self.conv(&format!("{name}.conv1"), &m.conv1, r.clone())?;
        let starts = self.ints(&format!("{name}.shift.starts"), &[1, 1]);
        let ends = self.ints(&format!("{name}.shift.ends"), &[i64::MAX, i64::MAX]);
        let axes = self.ints(&format!("{name}.shift.axes"), &[2, 3]);
        let shifted = self.node("Slice", vec![r, starts, ends, axes], Vec::new());
        let b = self.conv_padded(&format!("{name}.conv2"), &m.conv2, shifted, 1)?;
        let cat = self.node("Concat", vec![a, b], vec![attr_int("axis", 1)]);
        self.bn(&format!("{name}.bn"), &m.bn, cat)
    }

    fn op(&mut self, name: &str, op: &Op, x: String) -> Result<String, OnnxError> {
        match op {
            Op::Identity(_) => Ok(x),
            Op::Zero(z) => {
                let x = if z.stride > 1 {
                    let starts = self.ints(&format!("{name}.starts"), &[0, 0]);
                    let ends = self.ints(&format!("{name}.ends"), &[i64::MAX, i64::MAX]);
                    let axes = self.ints(&format!("{name}.axes"), &[2, 3]);
                    let s = z.stride as i64;
                    let steps = self.ints(&format!("{name}.steps"), &[s, s]);
                    self.node("Slice", vec![x, starts, ends, axes, steps], Vec::new())
                } else {
                    x
                };
                Ok(self.zeros(name, x))
            }
            Op::MaxPool(p) => {
                let m = &p.pool;
                let y = self.node(
                    "MaxPool",
                    vec![x],
                    vec![
                        attr_ints("kernel_shape", &m.kernel_size),
                        attr_ints("strides", &m.stride),
                        attr_ints("dilations", &m.dilation),
                        attr_ints("pads", &pads(&m.padding, name)?),
                        attr_int("ceil_mode", i64::from(m.ceil_mode)),
                    ],
                );
                self.bn_opt(&format!("{name}.bn"), p.bn.as_ref(), y)
            }
            Op::AvgPool(p) => {
                let y = self.average_pool(name, &p.pool, x)?;
                self.bn_opt(&format!("{name}.bn"), p.bn.as_ref(), y)
            }
            Op::Reduce(f) => self.factorized_reduce(name, f, x),
            Op::Sep(s) => {
                let r = self.relu(x);
                let y = self.conv(&format!("{name}.dw1"), &s.dw1, r)?;
                let y = self.conv(&format!("{name}.pw1"), &s.pw1, y)?;
                let y = self.bn(&format!("{name}.bn1"), &s.bn1, y)?;
                let r = self.relu(y);
                let y = self.conv(&format!("{name}.dw2"), &s.dw2, r)?;
                let y = self.conv(&format!("{name}.pw2"), &s.pw2, y)?;
                self.bn(&format!("{name}.bn2"), &s.bn2, y)
            }
            Op::Dil(d) => {
                let r = self.relu(x);
                let y = self.conv(&format!("{name}.dw"), &d.dw, r)?;
                let y = self.conv(&format!("{name}.pw"), &d.pw, y)?;
                self.bn(&format!("{name}.bn"), &d.bn, y)
            }
        }
    }

    fn cell(
        &mut self,
        name: &str,
        cell: &Cell,
        s0: String,
        s1: String,
    ) -> Result<String, OnnxError> {
        let s0 = match &cell.pre0 {
            Preprocess::Reduce(f) => self.factorized_reduce(&format!("{name}.pre0"), f, s0)?,
            Preprocess::Conv(c) => self.relu_conv_bn(&format!("{name}.pre0"), c, s0)?,
        };
        let s1 = self.relu_conv_bn(&format!("{name}.pre1"), &cell.pre1, s1)?;
        let mut states = vec![s0, s1];
        for pair in 0..cell.ops.len() / 2 {
            let mut branch =
                |k: usize, states: &[String]| {
                    let input = states.get(cell.inputs[k]).cloned().ok_or_else(|| {
                        OnnxError::Unsupported {
                            what: format!("{name}.ops.{k}"),
                            why: format!("its input state {} does not exist yet", cell.inputs[k]),
                        }
                    })?;
                    self.op(&format!("{name}.ops.{k}"), &cell.ops[k], input)
                };
            let a = branch(2 * pair, &states)?;
            let b = branch(2 * pair + 1, &states)?;
            states.push(self.node("Add", vec![a, b], Vec::new()));
        }
        let mut concat = Vec::with_capacity(cell.concat.len());
        for &s in &cell.concat {
            concat.push(
                states
                    .get(s)
                    .cloned()
                    .ok_or_else(|| OnnxError::Unsupported {
                        what: name.into(),
                        why: format!("it concatenates state {s}, which does not exist"),
                    })?,
            );
        }
        Ok(self.node("Concat", concat, vec![attr_int("axis", 1)]))
    }

    fn linear(&mut self, name: &str, l: &Linear, x: String) -> Result<String, OnnxError> {
        // burn keeps the weight as [in, out]: Gemm without transposition.
        let w = self.param(&format!("{name}.weight"), &l.weight)?;
        let mut inputs = vec![x, w];
        if let Some(b) = &l.bias {
            inputs.push(self.param(&format!("{name}.bias"), b)?);
        }
        Ok(self.node("Gemm", inputs, Vec::new()))
    }
}

impl Graph {
    /// DARTS' network on `input`: its logits.
    fn darts(&mut self, net: &Network, input: String) -> Result<String, OnnxError> {
        let g = self;
        let (mut s0, mut s1) = match &net.stem {
            Stem::Cifar(st) => {
                let y = g.conv("stem.conv", &st.conv, input)?;
                let s = g.bn("stem.bn", &st.bn, y)?;
                (s.clone(), s)
            }
            Stem::ImageNet(st) => {
                let y = g.conv("stem.conv0a", &st.conv0a, input)?;
                let y = g.bn("stem.bn0a", &st.bn0a, y)?;
                let y = g.relu(y);
                let y = g.conv("stem.conv0b", &st.conv0b, y)?;
                let s0 = g.bn("stem.bn0b", &st.bn0b, y)?;
                let r = g.relu(s0.clone());
                let y = g.conv("stem.conv1", &st.conv1, r)?;
                let s1 = g.bn("stem.bn1", &st.bn1, y)?;
                (s0, s1)
            }
        };
        for (i, cell) in net.cells.iter().enumerate() {
            let out = g.cell(&format!("cells.{i}"), cell, s0, s1.clone())?;
            s0 = s1;
            s1 = out;
        }
        let pooled = g.node("GlobalAveragePool", vec![s1], Vec::new());
        let flat = g.node("Flatten", vec![pooled], vec![attr_int("axis", 1)]);
        g.linear("classifier", &net.classifier, flat)
    }

    /// One edge of a NAS-Bench-201 cell.
    fn nb201_edge(&mut self, name: &str, edge: &Nb201Edge, x: String) -> Result<String, OnnxError> {
        match edge {
            Nb201Edge::Zero(_) => Ok(self.zeros(name, x)),
            Nb201Edge::Identity(_) => Ok(x),
            Nb201Edge::Conv(r) => self.relu_conv_bn(name, r, x),
            Nb201Edge::Pool(p) => self.average_pool(name, &p.pool, x),
        }
    }

    /// `x * 0`.
    fn zeros(&mut self, name: &str, x: String) -> String {
        let zero = self.floats(&format!("{name}.zero"), &[], &[0.0]);
        self.node("Mul", vec![x, zero], Vec::new())
    }

    fn average_pool(
        &mut self,
        name: &str,
        m: &burn::nn::pool::AvgPool2d,
        x: String,
    ) -> Result<String, OnnxError> {
        Ok(self.node(
            "AveragePool",
            vec![x],
            vec![
                attr_ints("kernel_shape", &m.kernel_size),
                attr_ints("strides", &m.stride),
                attr_ints("pads", &pads(&m.padding, name)?),
                attr_int("count_include_pad", i64::from(m.count_include_pad)),
                attr_int("ceil_mode", i64::from(m.ceil_mode)),
            ],
        ))
    }

    /// A NAS-Bench-201 cell as edas computes it: `none` edges skipped, a
    /// node without an edge is zeros.
    fn nb201_cell(
        &mut self,
        name: &str,
        cell: &Nb201CellModule,
        x: String,
    ) -> Result<String, OnnxError> {
        let mut states: [Option<String>; 4] = [Some(x.clone()), None, None, None];
        for (j, (edge, &(input, node))) in cell.edges.iter().zip(NB201_EDGES.iter()).enumerate() {
            if edge.is_zero() {
                continue;
            }
            let from = match &states[input] {
                Some(s) => s.clone(),
                None => self.zeros(&format!("{name}.state{input}"), x.clone()),
            };
            let y = self.nb201_edge(&format!("{name}.edges.{j}"), edge, from)?;
            states[node] = Some(match states[node].take() {
                Some(sum) => self.node("Add", vec![sum, y], Vec::new()),
                None => y,
            });
        }
        Ok(match states[3].take() {
            Some(out) => out,
            None => self.zeros(&format!("{name}.out"), x),
        })
    }

    fn res_block(&mut self, name: &str, b: &ResBlock, x: String) -> Result<String, OnnxError> {
        let a = self.relu_conv_bn(&format!("{name}.conv_a"), &b.conv_a, x.clone())?;
        let a = self.relu_conv_bn(&format!("{name}.conv_b"), &b.conv_b, a)?;
        let pooled = self.average_pool(&format!("{name}.pool"), &b.pool, x)?;
        let r = self.conv(&format!("{name}.shortcut"), &b.shortcut, pooled)?;
        Ok(self.node("Add", vec![a, r], Vec::new()))
    }

    /// The NAS-Bench-201 network on `input`: its logits.
    fn nb201(&mut self, net: &Nb201Network, input: String) -> Result<String, OnnxError> {
        let y = self.conv("stem_conv", &net.stem_conv, input)?;
        let mut x = self.bn("stem_bn", &net.stem_bn, y)?;
        for (i, layer) in net.layers.iter().enumerate() {
            let name = format!("layers.{i}");
            x = match layer {
                Nb201Layer::Cell(c) => self.nb201_cell(&name, c, x)?,
                Nb201Layer::Res(b) => self.res_block(&name, b, x)?,
            };
        }
        let y = self.bn("last_bn", &net.last_bn, x)?;
        let y = self.relu(y);
        let pooled = self.node("GlobalAveragePool", vec![y], Vec::new());
        let flat = self.node("Flatten", vec![pooled], vec![attr_int("axis", 1)]);
        self.linear("classifier", &net.classifier, flat)
    }
}

/// The ONNX model of `net` (inference) on images of `in_channels x height
/// x width` (the batch size is left symbolic).
pub fn onnx_model(net: &Model, image: [usize; 3]) -> Result<ModelProto, OnnxError> {
    let mut g = Graph::default();
    let input = "images".to_owned();
    let (logits, classifier, doc) = match net {
        Model::Darts(n) => (
            g.darts(n, input.clone())?,
            &n.classifier,
            "A DARTS-family discrete network (inference: auxiliary head left out)",
        ),
        Model::Nb201(n) => (
            g.nb201(n, input.clone())?,
            &n.classifier,
            "The NAS-Bench-201 network of one cell (inference)",
        ),
    };
    // The graph's output, by name.
    let output = "logits".to_owned();
    g.nodes.push(NodeProto {
        input: vec![logits],
        output: vec![output.clone()],
        name: "output".into(),
        op_type: "Identity".into(),
        attribute: Vec::new(),
    });
    let classes = classifier.weight.dims()[1];
    let [c, h, w] = image;
    Ok(ModelProto {
        ir_version: IR_VERSION,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
        producer_name: "edas".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        doc_string: doc.into(),
        graph: Some(GraphProto {
            node: g.nodes,
            name: "edas".into(),
            initializer: g.initializers,
            input: vec![value_info(&input, &[Err("batch"), Ok(c), Ok(h), Ok(w)])],
            output: vec![value_info(&output, &[Err("batch"), Ok(classes)])],
        }),
    })
}

/// Writes [`onnx_model`] of `net` to `path` by the file rules of
/// [`edas_fs::write_atomic`] (beside and renamed; never over a device, FIFO
/// or directory; a symlink replaced, not followed).
pub fn export_onnx(net: &Model, image: [usize; 3], path: &Path) -> Result<(), RunError> {
    let model = onnx_model(net, image).map_err(|e| RunError::Export {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    edas_fs::write_atomic(path, &model.encode_to_vec()).map_err(RunError::from)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::{BTreeMap, BTreeSet};

    use burn::store::ModuleSnapshot;
    use edas_genotype::darts_text::parse_darts;
    use edas_nn::{NetKind, NetworkConfig};

    use super::*;

    /// Every op of the space, and the reduce cell's stride-2 skip.
    const ALL_OPS: &str = "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_5x5', 1), \
        ('dil_conv_3x3', 0), ('skip_connect', 1), ('avg_pool_3x3', 2), ('dil_conv_5x5', 3), \
        ('max_pool_3x3', 0), ('sep_conv_3x3', 4)], normal_concat=[2, 3, 4, 5], \
        reduce=[('skip_connect', 0), ('max_pool_3x3', 1), ('avg_pool_3x3', 0), \
        ('sep_conv_5x5', 2), ('dil_conv_3x3', 1), ('skip_connect', 2), ('sep_conv_3x3', 0), \
        ('dil_conv_5x5', 3)], reduce_concat=[2, 3, 4, 5])";

    fn model(kind: NetKind, auxiliary: bool) -> (Network, ModelProto) {
        let device = Device::flex();
        let config = NetworkConfig {
            in_channels: 3,
            image_size: if kind == NetKind::Imagenet { 224 } else { 32 },
            classes: 7,
            channels: 4,
            layers: 5,
            auxiliary,
        };
        let genotype = parse_darts(ALL_OPS).unwrap();
        let net = Network::of_kind(kind, &genotype, &config, &device).unwrap();
        let bytes = onnx_model(
            &Model::Darts(net.clone()),
            [3, config.image_size, config.image_size],
        )
        .unwrap()
        .encode_to_vec();
        (net, ModelProto::decode(bytes.as_slice()).unwrap())
    }

    #[test]
    fn the_graph_is_well_formed_and_holds_every_weight() {
        for kind in [NetKind::Cifar, NetKind::Imagenet] {
            let (net, m) = model(kind, true);
            assert_eq!(
                (m.ir_version, m.opset_import[0].version),
                (IR_VERSION, OPSET)
            );
            let g = m.graph.unwrap();
            // Topological: every input is the graph's, an initializer or an
            // earlier node's output; every name is defined once.
            let mut defined: BTreeSet<String> =
                g.initializer.iter().map(|t| t.name.clone()).collect();
            assert_eq!(defined.len(), g.initializer.len(), "duplicate initializers");
            defined.insert("images".into());
            for n in &g.node {
                for i in &n.input {
                    assert!(
                        defined.contains(i),
                        "{kind}: {} reads undefined {i}",
                        n.name
                    );
                }
                for o in &n.output {
                    assert!(defined.insert(o.clone()), "{kind}: {o} defined twice");
                }
            }
            assert_eq!(g.output[0].name, "logits");
            assert!(defined.contains("logits"));
            // The main network's tensors, all of them (the auxiliary head is
            // left out), with their sizes: the float initializers are the
            // weights, BatchNorm's four tensors each, and the constants.
            let weights: usize = net
                .collect(None, None, false)
                .iter()
                .filter(|t| !t.name.starts_with("aux."))
                .map(|t| t.shape.num_elements())
                .sum();
            let floats: usize = g
                .initializer
                .iter()
                .filter(|t| t.data_type == proto::FLOAT && !t.name.ends_with(".zero"))
                .map(|t| t.raw_data.len() / 4)
                .sum();
            assert_eq!(floats, weights, "{kind}");
            let ops: BTreeMap<&str, usize> = g.node.iter().fold(BTreeMap::new(), |mut m, n| {
                *m.entry(n.op_type.as_str()).or_default() += 1;
                m
            });
            for op in [
                "Conv",
                "BatchNormalization",
                "Relu",
                "MaxPool",
                "AveragePool",
                "Slice",
                "Concat",
                "Add",
                "GlobalAveragePool",
                "Gemm",
            ] {
                assert!(ops.contains_key(op), "{kind}: no {op} in {ops:?}");
            }
            // 4 nodes of 2 ops per cell, one Add each.
            assert_eq!(ops["Add"], 5 * 4);
        }
    }

    /// Every node reads only what the graph, an initializer or an earlier
    /// node defines, and defines each name once; the op counts.
    fn check_order(g: &GraphProto) -> BTreeMap<String, usize> {
        let mut defined: BTreeSet<String> = g.initializer.iter().map(|t| t.name.clone()).collect();
        assert_eq!(defined.len(), g.initializer.len(), "duplicate initializers");
        defined.insert("images".into());
        for n in &g.node {
            for i in &n.input {
                assert!(defined.contains(i), "{} reads undefined {i}", n.name);
            }
            for o in &n.output {
                assert!(defined.insert(o.clone()), "{o} defined twice");
            }
        }
        assert!(defined.contains("logits"));
        g.node.iter().fold(BTreeMap::new(), |mut m, n| {
            *m.entry(n.op_type.clone()).or_default() += 1;
            m
        })
    }

    #[test]
    fn the_nas_bench_201_graph_holds_every_weight_and_skips_none_edges() {
        use edas_genotype::Nb201Cell;
        use edas_nn::{Nb201Config, Nb201Network};
        // Node 2 has only a `none` edge: its zeros feed `nor_conv_1x1~2`.
        let cell = Nb201Cell::parse(
            "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_1x1~2|",
        )
        .unwrap();
        let config = Nb201Config {
            channels: 4,
            cells_per_stage: 1,
            ..Nb201Config::benchmark(7, 16)
        };
        let net = Nb201Network::new(&cell, &config, &Device::flex()).unwrap();
        let weights: usize = net
            .collect(None, None, false)
            .iter()
            .map(|t| t.shape.num_elements())
            .sum();
        let bytes = onnx_model(&Model::Nb201(net), [3, 16, 16])
            .unwrap()
            .encode_to_vec();
        let m = ModelProto::decode(bytes.as_slice()).unwrap();
        let g = m.graph.unwrap();
        let ops = check_order(&g);
        let floats: usize = g
            .initializer
            .iter()
            .filter(|t| t.data_type == proto::FLOAT && !t.name.ends_with(".zero"))
            .map(|t| t.raw_data.len() / 4)
            .sum();
        assert_eq!(floats, weights);
        // Per cell: 2 convolutions; per block: 3; and the stem's.
        assert_eq!(ops["Conv"], 3 * 2 + 2 * 3 + 1);
        // Per cell: node 3's three edges summed (2 adds); per block: 1.
        assert_eq!(ops["Add"], 3 * 2 + 2);
        // Node 2's zeros, once per cell.
        assert_eq!(ops["Mul"], 3);
        // Per cell one 3x3 pool; per block the 2x2 shortcut pool.
        assert_eq!(ops["AveragePool"], 3 + 2);
        assert_eq!(g.output[0].name, "logits");
    }

    #[test]
    fn average_pooling_leaves_padding_out() {
        let (_, m) = model(NetKind::Cifar, false);
        let g = m.graph.unwrap();
        let pool = g.node.iter().find(|n| n.op_type == "AveragePool").unwrap();
        let attr = |name: &str| pool.attribute.iter().find(|a| a.name == name).unwrap();
        assert_eq!(attr("count_include_pad").i, 0);
        assert_eq!(attr("pads").ints, [1, 1, 1, 1]);
        // The shifted branch of a factorized reduce pads its far edge.
        let shifted_conv = g
            .node
            .iter()
            .find(|n| n.op_type == "Conv" && n.input[1].ends_with("conv2.weight"))
            .unwrap();
        let pads = shifted_conv
            .attribute
            .iter()
            .find(|a| a.name == "pads")
            .unwrap();
        assert_eq!(pads.ints, [0, 0, 1, 1]);
    }
}
