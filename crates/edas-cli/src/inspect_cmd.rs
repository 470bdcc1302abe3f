//! `edas inspect`: build the discrete network of a genotype (or of a
//! NAS-Bench-201 cell) and report its parameters, mult-adds and per-cell
//! output shapes.

use std::process::ExitCode;

use anyhow::Result;
use burn::prelude::Device;
use clap::Args;
use edas_genotype::Architecture;
use edas_nn::count::NetworkCosts;
use edas_nn::{Model, NetKind, NetworkConfig};
use serde::Serialize;

use crate::source::resolve;

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The genotype (published name, file, run directory, `-`, DARTS text)
    /// or a NAS-Bench-201 architecture string.
    #[arg(long)]
    genotype: String,
    /// Network family: cifar (DARTS' NetworkCIFAR; defaults C=36, L=20, 10
    /// classes, 3x32x32), imagenet (NetworkImageNet; C=48, L=14, 1000
    /// classes, 3x224x224) or nas-bench-201 (the benchmark's network: C=16,
    /// L=15 cells in 3 stages, 10 classes, 3x32x32). Default: cifar for a
    /// DARTS genotype, nas-bench-201 for a NAS-Bench-201 cell.
    #[arg(long)]
    net: Option<NetKind>,
    /// Initial channels C.
    #[arg(long, value_parser = at_least_one)]
    channels: Option<usize>,
    /// Number of cells L.
    #[arg(long)]
    layers: Option<usize>,
    /// Number of classes.
    #[arg(long, value_parser = at_least_one)]
    classes: Option<usize>,
    /// Input channels (1 for grayscale).
    #[arg(long, value_parser = at_least_one)]
    in_channels: Option<usize>,
    /// Input height and width.
    #[arg(long, value_parser = at_least_one)]
    image_size: Option<usize>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// A count that must be at least 1 (`--classes 0` describes no network).
fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

#[derive(Serialize)]
struct Report<'a> {
    genotype: &'a str,
    net: NetKind,
    config: &'a NetworkConfig,
    params: u64,
    params_with_aux: u64,
    mult_adds: u64,
    costs: &'a NetworkCosts,
}

/// Runs `edas inspect`.
pub fn run(args: InspectArgs) -> Result<ExitCode> {
    let loaded = resolve(&args.genotype)?;
    let kind = args.net.unwrap_or(match loaded.arch {
        Architecture::Darts(_) => NetKind::Cifar,
        Architecture::Nb201(_) => NetKind::Nb201,
    });
    let base = match kind {
        NetKind::Cifar => NetworkConfig::darts_cifar(10),
        NetKind::Imagenet => NetworkConfig::darts_imagenet(1000),
        NetKind::Nb201 => NetworkConfig {
            in_channels: 3,
            image_size: 32,
            classes: 10,
            channels: 16,
            layers: 15,
            auxiliary: false,
        },
    };
    let config = NetworkConfig {
        in_channels: args.in_channels.unwrap_or(base.in_channels),
        image_size: args.image_size.unwrap_or(base.image_size),
        classes: args.classes.unwrap_or(base.classes),
        channels: args.channels.unwrap_or(base.channels),
        layers: args.layers.unwrap_or(base.layers),
        auxiliary: base.auxiliary,
    };
    let device = Device::flex();
    let net = Model::new(kind, &loaded.arch, &config, &device)?;
    let costs = net.costs([config.in_channels, config.image_size, config.image_size]);
    if args.json {
        let report = Report {
            genotype: &loaded.label,
            net: kind,
            config: &config,
            params: costs.main.params,
            params_with_aux: costs.main.params + costs.aux.params,
            mult_adds: costs.main.mult_adds,
            costs: &costs,
        };
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} as {} network: C={}, L={}, {} classes, input {}x{}x{}",
        loaded.label,
        kind,
        config.channels,
        config.layers,
        config.classes,
        config.in_channels,
        config.image_size,
        config.image_size
    );
    let with_aux = config.auxiliary;
    if with_aux {
        println!(
            "parameters: {} ({:.2}M) without the auxiliary head, {} ({:.2}M) with it",
            costs.main.params,
            costs.main.params as f64 / 1e6,
            costs.main.params + costs.aux.params,
            (costs.main.params + costs.aux.params) as f64 / 1e6
        );
    } else {
        println!(
            "parameters: {} ({:.6}M)",
            costs.main.params,
            costs.main.params as f64 / 1e6
        );
    }
    println!(
        "mult-adds: {} ({:.1}M; convolutions and linear layers, one image{})",
        costs.main.mult_adds,
        costs.main.mult_adds as f64 / 1e6,
        if with_aux { ", no auxiliary head" } else { "" }
    );
    if let Model::Nb201(n) = &net {
        println!(
            "NAS-Bench-201 flop: {:.5}M (the benchmark's count: mult-adds plus the classifier's bias)",
            edas_nn::count::nb201_benchmark_flops(n, &costs) as f64 / 1e6
        );
    }
    let (normal, reduce) = match kind {
        NetKind::Nb201 => ("cell", "residual"),
        NetKind::Cifar | NetKind::Imagenet => ("normal", "reduce"),
    };
    println!("cells:");
    for (i, (shape, reduction)) in costs.cell_shapes.iter().zip(&costs.reductions).enumerate() {
        let aux = if with_aux && i == 2 * config.layers / 3 {
            "  <- auxiliary head"
        } else {
            ""
        };
        println!(
            "  {i:>2} {:<9} {} x {} x {}{aux}",
            if *reduction { reduce } else { normal },
            shape[0],
            shape[1],
            shape[2]
        );
    }
    Ok(ExitCode::SUCCESS)
}
