//! `edas-benchmark`: the tabular NAS benchmarks of the NAS-Bench-201 space,
//! read from their official files without Python: NAS-Bench-201 v1.0/v1.1
//! (`NAS-Bench-201-v1_*.pth`) and NATS-Bench's topology set (the full
//! `NATS-tss-v1_0-3ffb9.pickle.pbz2`, or its "simple" directory). A cell's
//! test accuracy on CIFAR-10, CIFAR-100 and ImageNet16-120 after the full
//! training, averaged over the benchmark's seeds ([`Benchmark`]).
//!
//! ```no_run
//! use edas_benchmark::{Benchmark, Dataset};
//! use edas_genotype::Nb201Cell;
//!
//! let bench = Benchmark::open("NAS-Bench-201-v1_1-096897.pth".as_ref())?;
//! let cell: Nb201Cell = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|".parse()?;
//! println!("{:?}", bench.test_accuracy(&cell, Dataset::Cifar10)?);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod tabular;

pub use tabular::{Benchmark, BenchmarkError, Dataset};
